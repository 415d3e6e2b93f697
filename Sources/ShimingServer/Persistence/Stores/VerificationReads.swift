import Foundation
import ShimingCore
import SQLKit

/// What a verification reads before it writes: the person's earlier verifications under the
/// program (a renewal ends them), the account's kind, verified name and gender (which the
/// verification may take over), and the grants in force (whose platforms hear of it).
struct VerificationReads: Sendable {
    var earlier: [StoredCase]
    /// Nil when the account is gone.
    var holder: AccountStore.VerifiedIdentity?
    var grants: [Grant]
}

extension Store {
    /// `VerificationReads` for `account`'s verification of case `id` under `program`. None of
    /// them is changed by what the verification writes before it uses them (it ends the earlier
    /// cases, then writes the account, then reads the grants), so they are read together: on
    /// PostgreSQL in one statement, one round trip of the write group's chain instead of three;
    /// on SQLite, where a statement costs microseconds, as the three reads they are.
    func verificationReads(account: UUID, program: String, excluding id: UUID, at now: Date) async throws -> VerificationReads {
        let engine = SQLEngine.of(database)
        guard engine == .postgres else {
            return VerificationReads(earlier: try await cases.verified(account: account, program: program, excluding: id),
                                     holder: try await accounts.verifiedIdentity(account), grants: try await grants.inForce(account: account, at: now))
        }
        let parts = Self.verificationParts(account: account, program: program, excluding: id, at: now)
        guard let row = try await database.sql().raw("SELECT " + parts.columns + " FROM (SELECT 1) AS one " + parts.join).first()
        else { throw CommonErrors.notFound }
        return try await verificationReads(account: account, row: row)
    }

    /// The PostgreSQL parts of a statement that reads `VerificationReads` beside what it reads
    /// already: `join`, joined to its one row (`FROM … <join>`), and the `columns` it selects,
    /// none named as a column of `cases` is.
    static func verificationParts(account: UUID, program: String, excluding id: UUID, at now: Date) -> (join: SQLQueryString, columns: SQLQueryString) {
        let engine = SQLEngine.postgres
        let earlier = JSONRows.aggregate(CaseStore.columnNames, dates: CaseStore.dateColumns, from: """
            cases WHERE account_id = \(bind: account) AND program = \(bind: program) AND state = \(bind: CaseState.verified.rawValue) AND id <> \(bind: id)
            """, order: "created_at, id", engine: engine)
        let inForce = JSONRows.aggregate(GrantStore.columnNames, dates: GrantStore.dateColumns, from: """
            grants WHERE account_id = \(bind: account) AND revoked_at IS NULL AND expires_at > \(bind: now)
            """, order: "granted_at, id", engine: engine)
        return ("LEFT JOIN (SELECT TRUE AS holder_found, \(AccountStore.verifiedIdentityColumns) FROM accounts WHERE id = \(bind: account)) AS holder ON TRUE",
                "holder.holder_found IS NOT NULL AS holder_found, \(AccountStore.verifiedIdentityColumns), \(earlier) AS earlier_json, \(inForce) AS grants_json")
    }

    /// `VerificationReads` from a row with the columns of `verificationParts`.
    func verificationReads(account: UUID, row: any SQLRow) async throws -> VerificationReads {
        let cases = try JSONRows.rows(row.value("earlier_json"), dates: CaseStore.dateColumns, engine: .postgres).map { try CaseStore.value(of: $0) }
        try await keys.load(cases.map(\.accountID))
        let found: Bool = try row.value("holder_found")
        return VerificationReads(earlier: cases, holder: found ? try await accounts.verifiedIdentity(account, row: row) : nil,
                                 grants: try JSONRows.rows(row.value("grants_json"), dates: GrantStore.dateColumns, engine: .postgres).map(GrantStore.grant(row:)))
    }

    /// A submission's reads (`CaseStore.lockedForSubmission`) and, when it may verify the case
    /// (`verifying`), on PostgreSQL the verification's reads in the same statement: the write
    /// group's chain then reads once for both. Nothing the submission writes before it verifies
    /// changes them (its history, risk alerts and notices; the earlier cases end after). On
    /// SQLite, or not verifying, the verification reads nothing now (nil) and reads when it runs.
    func submissionReads(_ id: UUID, version: Int, account: UUID, program: String, since: Date?,
                         taking: (allowances: [(String, Allowance)], at: Date), verifying: Bool) async throws
        -> (CaseStore.SubmissionReads, VerificationReads?) {
        let now = taking.at
        guard verifying, SQLEngine.of(database) == .postgres else {
            return (try await cases.lockedForSubmission(id, version: version, account: account, program: program, since: since, taking: taking), nil)
        }
        let parts = Self.verificationParts(account: account, program: program, excluding: id, at: now)
        let reads = try await cases.lockedForSubmission(id, version: version, account: account, program: program, since: since, taking: taking,
                                                        alsoReading: parts)
        return (reads, try await verificationReads(account: account, row: reads.row))
    }
}
