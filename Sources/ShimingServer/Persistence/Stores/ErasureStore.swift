import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Deletion requests and the erasure of an account.
    var erasure: ErasureStore { ErasureStore(db: database, cipher: cipher) }
}

/// The statements that remove a person's data when their account is erased. What stays is
/// pseudonymous: the account's id and times, its applications' facts (program, state, times,
/// history), grant rows (pairwise ids), consent records without the client, and the audit chain.
struct ErasureStore: Sendable {
    let db: any Database
    let cipher: FieldCipher

    /// Sets (or clears) when the account's deletion takes effect; false when it is already erased.
    func setDeletionDue(_ account: UUID, at due: Date?) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE accounts SET deletion_due_at = \(bind: due) WHERE id = \(bind: account) AND erased_at IS NULL RETURNING id
            """).first() != nil
    }

    /// Accounts whose deletion is due.
    func due(at now: Date, limit: Int) async throws -> [UUID] {
        try await db.sql().raw("""
            SELECT id FROM accounts WHERE deletion_due_at IS NOT NULL AND deletion_due_at <= \(bind: now) AND erased_at IS NULL
            ORDER BY deletion_due_at LIMIT \(bind: limit)
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// Accounts erased since a moment.
    func erased(since cutoff: Date) async throws -> [UUID] {
        try await db.sql().raw("SELECT id FROM accounts WHERE erased_at IS NOT NULL AND erased_at >= \(bind: cutoff)").all()
            .map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// Claims the account for erasure (one statement: two sweeps cannot both erase it, and a
    /// sign-in that cancelled a due deletion a moment before wins) and scrubs its row: contacts,
    /// their blind indexes, name, login, password; closed.
    func scrubAccount(_ account: UUID, onlyIfDueBy due: Date?, at now: Date) async throws -> Bool {
        let dueClause: SQLQueryString = due.map { "AND deletion_due_at IS NOT NULL AND deletion_due_at <= \(bind: $0)" } ?? ""
        return try await db.sql().raw("""
            UPDATE accounts SET phone_sealed = NULL, phone_index = NULL, phone_confirmed = \(bind: false), email_sealed = NULL, email_index = NULL,
            email_confirmed = \(bind: false), guardian_phone_sealed = NULL, guardian_phone_index = NULL, guardian_phone_confirmed = \(bind: false),
            legal_name_sealed = NULL, username = NULL, display_name = NULL, gender = NULL, password_hash = '', status = \(bind: AccountStatus.closed.rawValue),
            status_reason = NULL, on_duty_since = NULL, consents = NULL, deletion_due_at = NULL, erased_at = \(bind: now), updated_at = \(bind: now)
            WHERE id = \(bind: account) AND erased_at IS NULL \(dueClause)
            RETURNING id
            """).first() != nil
    }

    /// Removes the rows that only hold the person's data, and unlinks the rest; answers the
    /// ids of the stored files whose bytes are to be removed after the commit.
    func removeRows(of account: UUID, cases: [UUID]) async throws -> [UUID] {
        let sql = try db.sql()
        let files = try await sql.raw("SELECT id FROM stored_files WHERE owner_id = \(bind: account)").all()
            .map { try $0.decode(column: "id", as: UUID.self) }
        let emptyReason = { (context: String) throws -> String in try cipher.seal("", context: context) }
        for statement: SQLQueryString in [
            "DELETE FROM stored_files WHERE owner_id = \(bind: account)",
            "DELETE FROM change_requests WHERE account_id = \(bind: account)",
            "DELETE FROM feedback WHERE account_id = \(bind: account)",
            "DELETE FROM outbox_messages WHERE account_id = \(bind: account)",
            "DELETE FROM sessions WHERE account_id = \(bind: account)",
            "DELETE FROM one_time_codes WHERE account_id = \(bind: account)",
            "DELETE FROM identity_codes WHERE account_id = \(bind: account)",
            "DELETE FROM sign_in_throttles WHERE key = \(bind: AccountService.subject(account)) OR key LIKE \(bind: SignInKeys.pairPrefix(AccountService.subject(account)) + "%")",
            "UPDATE consent_acceptances SET client_sealed = NULL WHERE account_id = \(bind: account)",
            "UPDATE verification_sessions SET account_id = NULL WHERE account_id = \(bind: account)",
            "UPDATE account_freezes SET reason_sealed = \(bind: try emptyReason(AccountFreezeRecord.context(account))), lifted_note_sealed = NULL WHERE account_id = \(bind: account)",
        ] {
            try await sql.raw(statement).run()
        }
        for caseID in cases {
            try await sql.raw("""
                UPDATE case_appeals SET reason_sealed = \(bind: try emptyReason(CaseAppealRecord.context(caseID))) WHERE case_id = \(bind: caseID)
                """).run()
        }
        return files
    }

    /// SQLite: from now on this connection overwrites what it deletes with zeros, so erased
    /// values do not linger in free pages of the database file.
    func zeroDeletedContent() async throws {
        try await SQLDialectSwitch.run(on: db, sqlite: ["PRAGMA secure_delete = ON"], postgres: [])
    }

    /// SQLite: folds the write-ahead log into the database and empties it, so no earlier copy
    /// of an erased page stays in `-wal`.
    func foldLog() async throws {
        try await SQLDialectSwitch.run(on: db, sqlite: ["PRAGMA wal_checkpoint(TRUNCATE)"], postgres: [])
    }

    /// Removes counters keyed by a contact's blind index (code sends to that phone or address).
    func removeCounters(indexes: [String]) async throws {
        for index in indexes {
            try await db.sql().raw("DELETE FROM limit_windows WHERE key LIKE \(bind: "%" + index)").run()
        }
    }
}
