import Foundation
import ShimingCore
import SQLKit

/// The verification query's read of a grant in force with the verification the platform
/// accepts: alone, several in one statement, or (PostgreSQL) inside the query's write.
extension GrantStore {
    /// What the verification query reads of a grant in force (`inForceWithVerification`): what
    /// its answer and its write need, with the verification the platform accepts (nil: none).
    struct Queried: Sendable, Equatable {
        let id: UUID
        let accountID: UUID
        let claims: [PlatformClaim]
        let verified: AnsweredVerification?
    }

    /// One read of `inForceWithVerification`: alone, among several in one statement, or in the
    /// query's write (`QueriedGrant.toRead`).
    struct InForceRead: Sendable {
        let platform: UUID
        let subject: String
        /// The programs whose verifications the platform accepts.
        let programs: [String]
        let now: Date
    }

    /// A grant in force as the verification query's write found it: its id, and the rest
    /// (`queried()`) read where the answer is made. Read in the write's statement (PostgreSQL),
    /// the row is decoded by the request that asked, not by the writer: decoding each batch's
    /// rows in turn was 12 % of the writer's work under the query's load, on the path every
    /// query of the next batch waits through.
    struct Found: Sendable {
        let id: UUID
        private let value: Value

        private enum Value: Sendable {
            case queried(Queried)
            case row(any SQLRow, SQLEngine)
        }

        init(_ queried: Queried) {
            id = queried.id
            value = .queried(queried)
        }

        /// A row with `queried(row:engine:)`'s columns, whose grant is `id`.
        init(id: UUID, row: any SQLRow, engine: SQLEngine) {
            self.id = id
            value = .row(row, engine)
        }

        func queried() throws -> Queried {
            switch value {
            case .queried(let queried): queried
            case .row(let row, let engine): try GrantStore.queried(row: row, engine: engine)
            }
        }
    }

    /// What a verification query's write knows of the grant it is asked under: read before the
    /// write (`known`; nil: none), or to be read in the write's own statement (`toRead`,
    /// PostgreSQL: `Store.countCallsAndRecordQueries`).
    enum QueriedGrant: Sendable {
        case known(Queried?)
        case toRead(InForceRead)
    }

    /// The verification query's read: the grant in force under which the platform knows
    /// `subject`, with the person's newest verification of one of `programs` still in force
    /// (as `GrantService.verification(among:platform:)` picks it from all of them). Of the two,
    /// only the columns the answer needs are read (a whole case's decoding was a third of
    /// the read's time on SQLite).
    /// - On SQLite one statement, run in-process from a prepared statement (one read
    ///   transaction, where two statements took two), its text written once per count of programs.
    /// - On PostgreSQL one statement (`postgresInForce`). The query itself reads in its write's
    ///   statement there (`Store.readsQueriedGrantsInWrite`), not here.
    func inForceWithVerification(platform: UUID, subject: String, programs: [String], at now: Date) async throws -> Queried? {
        try await inForceWithVerification([InForceRead(platform: platform, subject: subject, programs: programs, now: now)])[0]
    }

    /// `inForceWithVerification` for each of `reads`, in order: on PostgreSQL in one statement.
    func inForceWithVerification(_ reads: [InForceRead]) async throws -> [Queried?] {
        guard !reads.isEmpty else { return [] }
        guard SQLEngine.of(db) != .sqlite else {
            var found: [Queried?] = []
            for read in reads { found.append(try await sqliteInForce(read)) }
            return found
        }
        return try await postgresInForce(reads)
    }

    private func sqliteInForce(_ read: InForceRead) async throws -> Queried? {
        let (programs, now) = (read.programs, read.now)
        let binds: [any Encodable & Sendable] = [read.platform, read.subject, now] + programs + (programs.isEmpty ? [] : [now])
        let sql = programs.count < Self.sqliteStatements.count ? Self.sqliteStatements[programs.count] : Self.sqliteInForce(programs: programs.count)
        guard let row = try await db.sql().text(SQLText(sql: sql, binds: binds)).first()
        else { return nil }
        return try Self.queried(row: row, engine: .sqlite)
    }

    /// `sqliteInForce` for up to 8 programs, written once.
    private static let sqliteStatements = (0...8).map(sqliteInForce(programs:))

    /// SQLite: the newest grant in force (platform, subject, time), joined to the case the
    /// newest verification picks (the `count` programs, time).
    private static func sqliteInForce(programs count: Int) -> String {
        let verified = count == 0 ? "NULL" : """
            (SELECT id FROM cases WHERE account_id = found.account_id AND state = '\(CaseState.verified.rawValue)'
              AND program IN (\(Array(repeating: "?", count: count).joined(separator: ", "))) AND (expires_at IS NULL OR expires_at > ?)
            ORDER BY verified_at DESC NULLS LAST LIMIT 1)
            """
        return """
            SELECT found.id, found.account_id, found.claims, \(answeredSelect(decision: Self.sqliteDecidedBy)) FROM (
              SELECT id, account_id, claims, granted_at FROM grants
              WHERE platform_id = ? AND subject = ? AND revoked_at IS NULL AND expires_at > ?
              ORDER BY granted_at DESC LIMIT 1
            ) AS found LEFT JOIN cases ON cases.id = \(verified)
            """
    }

    /// PostgreSQL: each read's grant in force with its person's verification the platform
    /// accepts (nil where there is no grant), in order, in one statement (`inForceJoins`). Kept
    /// prepared and planned afresh as the data grows (`PlannedAsDataGrows`).
    private func postgresInForce(_ batch: [InForceRead]) async throws -> [Queried?] {
        let rows = try await db.sql().planned("""
            SELECT asked.n, found.id, found.account_id, found.claims, verified.* FROM \(Self.asked(batch))
            \(Self.inForceJoins(batch))
            """ as SQLQueryString, forGrowth: growth).all()
        var found = [Queried?](repeating: nil, count: batch.count)
        for row in rows {
            let n: Int = try row.value("n")
            found[n - 1] = try Self.queried(row: row, engine: .postgres)
        }
        return found
    }

    /// PostgreSQL: the reads as a table `asked` (`platform_id`, `subject`, `at`, with `keys` the
    /// key each read is asked with as `key_id`, then `n`, the read's place from 1), for
    /// `inForceJoins`.
    static func asked(_ batch: [InForceRead], keys: [UUID]? = nil) -> SQLQueryString {
        let key: (array: SQLQueryString, name: SQLQueryString) = keys.map { (", (SELECT \(bind: $0))", ", key_id") } ?? ("", "")
        return """
            unnest((SELECT \(bind: batch.map(\.platform))), (SELECT \(bind: batch.map(\.subject))), (SELECT \(bind: batch.map(\.now)))\(key.array))
              WITH ORDINALITY AS asked (platform_id, subject, at\(key.name), n)
            """
    }

    /// PostgreSQL: joined to the table `asked` of `batch`'s reads (`asked(_:)`), each read's
    /// newest grant in force (`found`: its `id`, `account_id` and `claims`; reads without one
    /// have no row), and that grant's person's newest verification in force of one of the
    /// read's programs (`verified`: `answeredColumns` columns named `case_…`, NULL where there
    /// is none). The arrays are read through `(SELECT $n)`, which the planner does not look
    /// into, so one plan serves every batch (`Store.countCallsAndRecordQueries`).
    static func inForceJoins(_ batch: [InForceRead]) -> SQLQueryString {
        let accepts = batch.enumerated().flatMap { n, read in read.programs.map { (n + 1, $0) } }
        return """
            CROSS JOIN LATERAL (
              SELECT id, account_id, claims FROM grants
              WHERE grants.platform_id = asked.platform_id AND grants.subject = asked.subject AND revoked_at IS NULL AND expires_at > asked.at
              ORDER BY granted_at DESC LIMIT 1
            ) AS found
            LEFT JOIN LATERAL (
              SELECT \(unsafeRaw: Self.answeredSelect(decision: "cases.decision_json AS case_decision_json")) FROM cases
              WHERE cases.account_id = found.account_id AND cases.state = \(bind: CaseState.verified.rawValue)
                AND cases.program IN (
                  SELECT accepts.program FROM unnest((SELECT \(bind: accepts.map(\.0))), (SELECT \(bind: accepts.map(\.1)))) AS accepts (n, program)
                  WHERE accepts.n = asked.n
                )
                AND (cases.expires_at IS NULL OR cases.expires_at > asked.at)
              ORDER BY cases.verified_at DESC NULLS LAST LIMIT 1
            ) AS verified ON true
            """
    }

    /// How many columns `verified` of `inForceJoins` has.
    static let answeredColumns = answered(decision: "").count

    /// The columns of the case an answer is made of (`AnsweredVerification`), named `case_…`
    /// beside the grant's, with `decision`: who decided (`queried(row:engine:)`).
    private static func answeredSelect(decision: String) -> String { answered(decision: decision).joined(separator: ", ") }

    private static func answered(decision: String) -> [String] {
        ["cases.id AS case_id", "cases.program AS case_program", "cases.data_sealed AS case_data_sealed", "cases.identity_code AS case_identity_code",
         decision, "cases.verified_at AS case_verified_at", "cases.expires_at AS case_expires_at"]
    }

    /// SQLite: the decision's `decidedBy`, taken out of its JSON by SQLite (decoding the whole
    /// decision in Swift took about 2 µs a query); NULL where the column is not JSON
    /// (`LazyJSON` reads such a column as no decision).
    private static let sqliteDecidedBy =
        "CASE WHEN json_valid(cases.decision_json) THEN json_extract(cases.decision_json, '$.decidedBy') END AS case_decided_by"

    /// A grant with the verification beside it in the same row (NULL where there is none). On
    /// PostgreSQL the decision comes as its JSON text, read in Swift (casting a column that is
    /// not JSON would fail the statement, and with it every read of the batch).
    /// The mapping is specialised for the app's own rows (as `CaseStore.value(row:)` is).
    static func queried(row: any SQLRow, engine: SQLEngine) throws -> Queried {
        switch row {
        case let row as KeptRow: try queried(of: row, engine: engine)
        case let row as DirectSQLiteRow: try queried(of: row, engine: engine)
        default: try queried(of: row, engine: engine)
        }
    }

    static func queried(of row: some SQLRow, engine: SQLEngine) throws -> Queried {
        let verified = try row.decodeNil(column: "case_id") ? nil : AnsweredVerification(
            id: try row.value("case_id"), program: try row.value("case_program"), dataSealed: try row.value("case_data_sealed"),
            identityCode: try row.value("case_identity_code"),
            decidedBy: engine == .sqlite ? try row.value("case_decided_by") : StoredCase.decidedBy(decisionJSON: try row.value("case_decision_json")),
            verifiedAt: try row.value("case_verified_at"), expiresAt: try row.value("case_expires_at"))
        return Queried(id: try row.value("id"), accountID: try row.value("account_id"),
                       claims: StoredJSON.list(try row.value("claims")).compactMap(PlatformClaim.init(rawValue:)), verified: verified)
    }
}
