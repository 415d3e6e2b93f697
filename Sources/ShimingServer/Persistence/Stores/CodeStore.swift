import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// One-time codes and activation tokens.
    var codes: CodeStore { CodeStore(db: database) }
}

/// A one-time code or token as stored: its keyed hash, never the code.
struct OneTimeCode: Sendable, Equatable {
    var id: UUID
    var channel: String
    var destinationIndex: String
    var purpose: String
    var codeHash: String
    var accountID: UUID?
    var expiresAt: Date
    var attempts: Int
    var consumedAt: Date?
    var createdAt: Date
    var ip: String?
}

/// Rows of `one_time_codes` ⇄ `OneTimeCode`. The attempt counter and the consumption change
/// in one conditional statement each, so parallel guesses are counted one by one and a code is
/// used at most once.
struct CodeStore: Sendable {
    let db: any Database

    /// Ends every unused code for a destination and purpose.
    func retire(destinationIndex: String, purpose: String, at now: Date) async throws {
        try await OneTimeCodeRecord.query(on: db).filter(\.$destinationIndex == destinationIndex).filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil).set(\.$consumedAt, to: now).update()
    }

    func insert(_ code: OneTimeCode) async throws {
        let record = OneTimeCodeRecord()
        record.id = code.id
        record.channel = code.channel
        record.destinationIndex = code.destinationIndex
        record.purpose = code.purpose
        record.codeHash = code.codeHash
        record.accountID = code.accountID
        record.expiresAt = code.expiresAt
        record.attempts = code.attempts
        record.consumedAt = code.consumedAt
        record.createdAt = code.createdAt
        record.ip = code.ip
        try await record.create(on: db)
    }

    /// The newest unused code for any of the destinations and the purpose.
    func newestUnused(destinationIndexes: [String], purpose: String) async throws -> OneTimeCode? {
        try await OneTimeCodeRecord.query(on: db).filter(\.$destinationIndex ~~ destinationIndexes).filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil).sort(\.$createdAt, .descending).first().map(Self.value)
    }

    /// The unused, unexpired token with this hash and purpose.
    func liveToken(hash: String, purpose: String, at now: Date) async throws -> OneTimeCode? {
        try await OneTimeCodeRecord.query(on: db).filter(\.$codeHash == hash).filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil).filter(\.$expiresAt > now).first().map(Self.value)
    }

    /// Uses a code if it is still unused and has attempts left; false when another request
    /// used or exhausted it first.
    func consume(_ id: UUID, maxAttempts: Int, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE one_time_codes SET consumed_at = \(bind: now)
            WHERE id = \(bind: id) AND consumed_at IS NULL AND attempts < \(bind: maxAttempts)
            RETURNING id
            """).first() != nil
    }

    /// Counts a wrong entry if the code is still unused and has attempts left, answering the
    /// attempts made; nil when another request used or exhausted it first.
    func countWrong(_ id: UUID, maxAttempts: Int) async throws -> Int? {
        try await db.sql().raw("""
            UPDATE one_time_codes SET attempts = attempts + 1
            WHERE id = \(bind: id) AND consumed_at IS NULL AND attempts < \(bind: maxAttempts)
            RETURNING attempts
            """).first()?.decode(column: "attempts", as: Int.self)
    }

    private static func value(_ record: OneTimeCodeRecord) throws -> OneTimeCode {
        OneTimeCode(
            id: try record.requireID(), channel: record.channel, destinationIndex: record.destinationIndex, purpose: record.purpose,
            codeHash: record.codeHash, accountID: record.accountID, expiresAt: record.expiresAt, attempts: record.attempts,
            consumedAt: record.consumedAt, createdAt: record.createdAt, ip: record.ip
        )
    }
}
