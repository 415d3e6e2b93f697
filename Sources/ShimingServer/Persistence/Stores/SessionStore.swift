import Fluent
import Foundation
import ShimingCore

extension Store {
    /// Signed-in sessions.
    var sessions: SessionStore { SessionStore(db: database) }
}

/// A signed-in session: the token itself is never stored, only its keyed hash.
struct Session: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    /// `web` (cookie, with a CSRF token) or `api` (bearer token).
    var kind: String
    var csrfToken: String?
    var createdAt: Date
    var expiresAt: Date
    var revokedAt: Date?
    var ip: String?
}

/// Rows of `sessions` ⇄ `Session` (a session is read with its account: `AccountStore.withSession`).
struct SessionStore: Sendable {
    let db: any Database

    func insert(_ session: Session, tokenHash: String) async throws {
        let record = SessionRecord()
        record.id = session.id
        record.tokenHash = tokenHash
        record.accountID = session.accountID
        record.kind = session.kind
        record.csrfToken = session.csrfToken
        record.createdAt = session.createdAt
        record.expiresAt = session.expiresAt
        record.revokedAt = session.revokedAt
        record.ip = session.ip
        try await record.create(on: db)
    }

    /// Ends one session (no-op when it is already ended).
    func revoke(_ id: UUID, at now: Date) async throws {
        try await SessionRecord.query(on: db).filter(\.$id == id).filter(\.$revokedAt == nil).set(\.$revokedAt, to: now).update()
    }

    /// Ends every live session of an account but `keep`.
    func revokeAll(of accountID: UUID, except keep: UUID?, at now: Date) async throws {
        var query = SessionRecord.query(on: db).filter(\.$accountID == accountID).filter(\.$revokedAt == nil)
        if let keep { query = query.filter(\.$id != keep) }
        try await query.set(\.$revokedAt, to: now).update()
    }
}
