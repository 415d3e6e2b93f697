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
        let earlier = JSONRows.aggregate(CaseStore.columnNames, dates: CaseStore.dateColumns, from: """
            cases WHERE account_id = \(bind: account) AND program = \(bind: program) AND state = \(bind: CaseState.verified.rawValue) AND id <> \(bind: id)
            """, order: "created_at, id", engine: engine)
        let inForce = JSONRows.aggregate(GrantStore.columnNames, dates: GrantStore.dateColumns, from: """
            grants WHERE account_id = \(bind: account) AND revoked_at IS NULL AND expires_at > \(bind: now)
            """, order: "granted_at, id", engine: engine)
        guard let row = try await database.sql().raw("""
            SELECT \(AccountStore.verifiedIdentityColumns), accounts.id IS NOT NULL AS found, \(earlier) AS earlier_json, \(inForce) AS grants_json
            FROM (SELECT 1) AS one LEFT JOIN accounts ON accounts.id = \(bind: account)
            """).first() else { throw CommonErrors.notFound }
        let cases = try JSONRows.rows(row.value("earlier_json"), dates: CaseStore.dateColumns, engine: engine).map { try CaseStore.value(row: $0) }
        try await keys.load(cases.map(\.accountID))
        let found: Bool = try row.value("found")
        return VerificationReads(earlier: cases, holder: found ? try await accounts.verifiedIdentity(account, row: row) : nil,
                                 grants: try JSONRows.rows(row.value("grants_json"), dates: GrantStore.dateColumns, engine: engine).map(GrantStore.grant(row:)))
    }
}
