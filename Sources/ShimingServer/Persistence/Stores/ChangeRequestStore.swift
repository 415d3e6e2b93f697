import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Change requests for locked profile fields.
    var changeRequests: ChangeRequestStore { ChangeRequestStore(db: database, cipher: cipher, keys: keys) }
}

/// Rows of `change_requests` ⇄ `ChangeRequest` (without proofs: those are files). The new and
/// old values, the reason and the decision note are sealed here, under the account's own key.
struct ChangeRequestStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let keys: AccountKeys

    private func open(_ records: [ChangeRequestRecord]) async throws -> [ChangeRequest] {
        try await keys.prepare(records.flatMap { [$0.newValueSealed, $0.oldValueSealed, $0.reasonSealed, $0.decisionNoteSealed] })
        return try records.map { try $0.changeRequest(cipher: cipher, proofs: []) }
    }

    func find(_ id: UUID) async throws -> ChangeRequest? {
        guard let record = try await ChangeRequestRecord.find(id, on: db) else { return nil }
        return try await open([record]).first
    }

    /// Whether the account has a request for `field` waiting for a decision.
    func hasPending(account: UUID, field: ChangeRequestField) async throws -> Bool {
        try await ChangeRequestRecord.query(on: db).filter(\.$accountID == account).filter(\.$field == field.rawValue)
            .filter(\.$state == ChangeRequestState.pending.rawValue).first() != nil
    }

    func insert(_ request: ChangeRequest) async throws {
        let id = request.id
        let cipher = try await keys.sealing(cipher, for: request.accountID)
        let record = ChangeRequestRecord()
        record.id = id
        record.accountID = request.accountID
        record.field = request.field.rawValue
        record.newValueSealed = try cipher.seal(request.newValue, context: ChangeRequestRecord.context("new_value", id))
        record.oldValueSealed = try request.oldValue.map { try cipher.seal($0, context: ChangeRequestRecord.context("old_value", id)) }
        record.reasonSealed = try cipher.seal(request.reason, context: ChangeRequestRecord.context("reason", id))
        record.state = request.state.rawValue
        record.createdAt = request.createdAt
        try await record.create(on: db)
    }

    /// An account's requests, newest first.
    func owned(by account: UUID) async throws -> [ChangeRequest] {
        try await open(ChangeRequestRecord.query(on: db).filter(\.$accountID == account).sort(\.$createdAt, .descending).all())
    }

    /// Requests in a state (any when nil), oldest first.
    func list(state: ChangeRequestState?, limit: Int) async throws -> [ChangeRequest] {
        var query = ChangeRequestRecord.query(on: db).sort(\.$createdAt, .ascending).limit(limit)
        if let state { query = query.filter(\.$state == state.rawValue) }
        return try await open(query.all())
    }

    func count(in state: ChangeRequestState) async throws -> Int {
        try await ChangeRequestRecord.query(on: db).filter(\.$state == state.rawValue).count()
    }

    /// Decides a pending request in one conditional statement; false when it was no longer pending.
    func decide(_ id: UUID, as state: ChangeRequestState, by staff: UUID, note: String?, at now: Date) async throws -> Bool {
        let sql = try db.sql()
        guard let account = try await ChangeRequestRecord.find(id, on: db)?.accountID else { return false }
        let cipher = try await keys.sealing(cipher, for: account)
        let sealed = try note.map { try cipher.seal($0, context: ChangeRequestRecord.context("decision_note", id)) }
        return try await sql.raw("""
            UPDATE change_requests SET state = \(bind: state.rawValue), decided_by = \(bind: staff), decided_at = \(bind: now),
            decision_note_sealed = \(bind: sealed)
            WHERE id = \(bind: id) AND state = \(bind: ChangeRequestState.pending.rawValue)
            RETURNING id
            """).first() != nil
    }
}
