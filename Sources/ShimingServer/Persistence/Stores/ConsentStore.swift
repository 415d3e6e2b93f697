import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Consent records.
    var consents: ConsentStore { ConsentStore(db: database, cipher: cipher, keys: keys) }
}

/// One recorded acceptance, opened.
struct ConsentAcceptance: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    var kind: ConsentKind
    var version: String
    var textHash: String
    var givenBy: GivenBy
    var channel: Channel
    /// The client's address and browser, when known.
    var client: String?
    var caseID: UUID?
    var acceptedAt: Date
    var withdrawnAt: Date?

    enum GivenBy: String, Sendable, Codable { case person = "self", guardian }
    enum Channel: String, Sendable, Codable { case web, api }
}

/// Rows of `consent_acceptances` ⇄ `ConsentAcceptance`, and the account's summary of them.
struct ConsentStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    /// The client is sealed under the account's own key.
    let keys: AccountKeys

    /// Records an acceptance and brings the account's summary up to date.
    func insert(_ acceptance: ConsentAcceptance) async throws {
        let record = ConsentAcceptanceRecord()
        record.id = acceptance.id
        record.accountID = acceptance.accountID
        record.kind = acceptance.kind.rawValue
        record.version = acceptance.version
        record.textHash = acceptance.textHash
        record.givenBy = acceptance.givenBy.rawValue
        record.channel = acceptance.channel.rawValue
        let cipher = try await keys.sealing(cipher, for: acceptance.accountID)
        record.clientSealed = try acceptance.client.map { try cipher.seal($0, context: ConsentAcceptanceRecord.clientContext(acceptance.id)) }
        record.caseID = acceptance.caseID
        record.acceptedAt = acceptance.acceptedAt
        try await record.create(on: db)
        try await summarise(acceptance.accountID)
    }

    /// Marks the account's standing acceptances of a kind withdrawn; answers how many were.
    @discardableResult
    func withdraw(_ kind: ConsentKind, account: UUID, at now: Date) async throws -> Int {
        let rows = try await db.sql().raw("""
            UPDATE consent_acceptances SET withdrawn_at = \(bind: now)
            WHERE account_id = \(bind: account) AND kind = \(bind: kind.rawValue) AND withdrawn_at IS NULL
            RETURNING id
            """).all()
        try await summarise(account)
        return rows.count
    }

    /// Every acceptance of the account, newest first.
    func all(account: UUID) async throws -> [ConsentAcceptance] {
        try await keys.load([account])
        return try await ConsentAcceptanceRecord.query(on: db).filter(\.$accountID == account)
            .sort(\.$acceptedAt, .descending).all().map(value)
    }

    /// Writes `accounts.consents` from the rows: per kind, the hash of the newest standing acceptance.
    private func summarise(_ account: UUID) async throws {
        var latest: [ConsentKind: String] = [:]
        for acceptance in try await all(account: account).reversed() where acceptance.withdrawnAt == nil {
            latest[acceptance.kind] = acceptance.textHash
        }
        try await AccountRecord.query(on: db).filter(\.$id == account).set(\.$consents, to: Self.format(latest)).update()
    }

    static func format(_ consents: [ConsentKind: String]) -> String? {
        consents.isEmpty ? nil : ConsentKind.allCases.compactMap { kind in consents[kind].map { "\(kind.rawValue)=\($0)" } }.joined(separator: ";")
    }

    static func parse(_ stored: String?) -> [ConsentKind: String] {
        var consents: [ConsentKind: String] = [:]
        for pair in (stored ?? "").split(separator: ";") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, let kind = ConsentKind(rawValue: String(parts[0])) { consents[kind] = String(parts[1]) }
        }
        return consents
    }

    private func value(_ record: ConsentAcceptanceRecord) throws -> ConsentAcceptance {
        let id = try record.requireID()
        return ConsentAcceptance(
            id: id, accountID: record.accountID, kind: ConsentKind(rawValue: record.kind) ?? .terms, version: record.version,
            textHash: record.textHash, givenBy: .init(rawValue: record.givenBy) ?? .person, channel: .init(rawValue: record.channel) ?? .api,
            client: try record.clientSealed.map { try cipher.open($0, context: ConsentAcceptanceRecord.clientContext(id)) },
            caseID: record.caseID, acceptedAt: record.acceptedAt, withdrawnAt: record.withdrawnAt
        )
    }
}
