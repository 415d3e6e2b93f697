import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Hosted verification sessions.
    var verificationSessions: VerificationSessionStore { VerificationSessionStore(db: database, cipher: cipher) }
    /// The subjects' grants and the platforms' queries under them.
    var grants: GrantStore { GrantStore(db: database, reads: reads, growth: gate.growth) }
}

/// Rows of `verification_sessions` ⇄ `VerificationSession`; the platform's reference is sealed.
/// Every change of status is one conditional statement, so a session is used once.
struct VerificationSessionStore: Sendable {
    let db: any Database
    let cipher: FieldCipher

    func find(_ id: UUID) async throws -> VerificationSession? {
        try await VerificationSessionRecord.find(id, on: db).map(value)
    }

    func insert(_ session: VerificationSession) async throws {
        let record = VerificationSessionRecord()
        record.id = session.id
        record.platformID = session.platformID
        record.program = session.program
        record.referenceSealed = try cipher.seal(session.reference, context: VerificationSessionRecord.referenceContext(session.id))
        record.returnURL = session.returnURL
        record.locale = session.locale
        record.status = session.status.rawValue
        record.createdAt = session.createdAt
        record.expiresAt = session.expiresAt
        try await record.create(on: db)
    }

    /// Binds an open session to the person who opened it (or finds it already theirs); false
    /// when it is someone else's, over or expired.
    func bind(_ id: UUID, to account: UUID, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE verification_sessions SET account_id = \(bind: account), status = \(bind: VerificationSessionStatus.pending.rawValue)
            WHERE id = \(bind: id) AND status IN ('open', 'pending') AND expires_at > \(bind: now)
            AND (account_id IS NULL OR account_id = \(bind: account))
            RETURNING id
            """).first() != nil
    }

    /// Ends a pending session of the account as verified (with its grant) or declined; false
    /// when it was no longer pending.
    func complete(_ id: UUID, account: UUID, as status: VerificationSessionStatus, grant: UUID?, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE verification_sessions SET status = \(bind: status.rawValue), grant_id = \(bind: grant), completed_at = \(bind: now)
            WHERE id = \(bind: id) AND account_id = \(bind: account) AND status = 'pending' AND expires_at > \(bind: now)
            RETURNING id
            """).first() != nil
    }

    /// Cancels a session of the platform that is not over; false otherwise.
    func cancel(_ id: UUID, platform: UUID, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE verification_sessions SET status = 'cancelled', completed_at = \(bind: now)
            WHERE id = \(bind: id) AND platform_id = \(bind: platform) AND status IN ('open', 'pending') AND expires_at > \(bind: now)
            RETURNING id
            """).first() != nil
    }

    /// The account's sessions still waiting for it (it is applying or in review), newest first.
    func waiting(for account: UUID, at now: Date) async throws -> [VerificationSession] {
        try await VerificationSessionRecord.query(on: db).filter(\.$accountID == account)
            .filter(\.$status == VerificationSessionStatus.pending.rawValue).filter(\.$expiresAt > now)
            .sort(\.$createdAt, .descending).limit(10).all().map(value)
    }

    private func value(_ record: VerificationSessionRecord) throws -> VerificationSession {
        let id = try record.requireID()
        return VerificationSession(
            id: id, platformID: record.platformID, program: record.program,
            reference: try cipher.open(record.referenceSealed, context: VerificationSessionRecord.referenceContext(id)),
            returnURL: record.returnURL, locale: record.locale,
            status: VerificationSessionStatus(rawValue: record.status) ?? .open, accountID: record.accountID, grantID: record.grantID,
            createdAt: record.createdAt, expiresAt: record.expiresAt, completedAt: record.completedAt
        )
    }
}

/// Rows of `grants` and `grant_queries`.
struct GrantStore: Sendable {
    let db: any Database
    /// The process's batched reads.
    let reads: ReadBatches
    /// `WriteGate.growth` when the store was made: the batched read is planned for it.
    let growth: Int

    func find(_ id: UUID) async throws -> Grant? {
        try await db.sql().raw("SELECT \(Self.columns) FROM grants WHERE id = \(bind: id)").first().map(Self.grant(row:))
    }

    func insert(_ grant: Grant) async throws {
        let record = GrantRecord()
        record.id = grant.id
        record.accountID = grant.accountID
        record.platformID = grant.platformID
        record.subject = grant.subject
        record.claims = try StoredJSON.text(grant.claims.map(\.rawValue))
        record.sessionID = grant.sessionID
        record.grantedAt = grant.grantedAt
        record.expiresAt = grant.expiresAt
        try await record.create(on: db)
    }

    /// The account's grants, newest first (withdrawn ones too: the person sees their history).
    func of(account: UUID) async throws -> [Grant] {
        try await db.sql().raw("SELECT \(Self.columns) FROM grants WHERE account_id = \(bind: account) ORDER BY granted_at DESC")
            .all().map(Self.grant(row:))
    }

    /// The account's grants in force.
    func inForce(account: UUID, at now: Date) async throws -> [Grant] {
        try await db.sql().raw("""
            SELECT \(Self.columns) FROM grants WHERE account_id = \(bind: account) AND revoked_at IS NULL AND expires_at > \(bind: now)
            """).all().map(Self.grant(row:))
    }

    /// What the verification query reads of a grant in force (`inForceWithVerification`): what
    /// its answer and its write need, with the verification the platform accepts (nil: none).
    struct Queried: Sendable, Equatable {
        let id: UUID
        let accountID: UUID
        let claims: [PlatformClaim]
        let verified: AnsweredVerification?
    }

    /// One read of `inForceWithVerification`, in a batch.
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
    /// - On PostgreSQL one statement. Outside a transaction the reads that arrive while one is
    ///   read are read together in one statement (`ReadBatches`), each at its own time.
    func inForceWithVerification(platform: UUID, subject: String, programs: [String], at now: Date) async throws -> Queried? {
        let read = InForceRead(platform: platform, subject: subject, programs: programs, now: now)
        guard SQLEngine.of(db) != .sqlite else { return try await sqliteInForce(read) }
        guard !db.inTransaction else { return try await postgresInForce([read])[0] }
        return try await reads.grants.run(read, all: { [self] batch in try await postgresInForce(batch) })
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

    /// PostgreSQL: the reads as a table `asked` (`platform_id`, `subject`, `at`, then the
    /// `extra` columns, then `n`, the read's place from 1), for `inForceJoins`.
    static func asked(_ batch: [InForceRead], extra: [(name: String, values: [UUID])] = []) -> SQLQueryString {
        var arrays: [SQLQueryString] = ["(SELECT \(bind: batch.map(\.platform)))", "(SELECT \(bind: batch.map(\.subject)))", "(SELECT \(bind: batch.map(\.now)))"]
        arrays += extra.map { "(SELECT \(bind: $0.values))" }
        let names = (["platform_id", "subject", "at"] + extra.map(\.name) + ["n"]).joined(separator: ", ")
        return "unnest(\(arrays.joined(separator: ", "))) WITH ORDINALITY AS asked (\(unsafeRaw: names))"
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
    static let answeredColumns = 7

    /// The columns of the case an answer is made of (`AnsweredVerification`), named `case_…`
    /// beside the grant's, with `decision`: who decided (`queried(row:engine:)`).
    private static func answeredSelect(decision: String) -> String {
        "cases.id AS case_id, cases.program AS case_program, cases.data_sealed AS case_data_sealed, cases.identity_code AS case_identity_code, "
            + "\(decision), cases.verified_at AS case_verified_at, cases.expires_at AS case_expires_at"
    }

    /// SQLite: the decision's `decidedBy`, taken out of its JSON by SQLite (decoding the whole
    /// decision in Swift took about 2 µs a query); NULL where the column is not JSON
    /// (`LazyJSON` reads such a column as no decision).
    private static let sqliteDecidedBy =
        "CASE WHEN json_valid(cases.decision_json) THEN json_extract(cases.decision_json, '$.decidedBy') END AS case_decided_by"

    /// A grant with the verification beside it in the same row (NULL where there is none). On
    /// PostgreSQL the decision comes as its JSON text, read in Swift (casting a column that is
    /// not JSON would fail the statement, and with it every read of the batch).
    static func queried(row: any SQLRow, engine: SQLEngine) throws -> Queried {
        let verified = try row.decodeNil(column: "case_id") ? nil : AnsweredVerification(
            id: try row.value("case_id"), program: try row.value("case_program"), dataSealed: try row.value("case_data_sealed"),
            identityCode: try row.value("case_identity_code"),
            decidedBy: engine == .sqlite ? try row.value("case_decided_by") : StoredCase.decidedBy(decisionJSON: try row.value("case_decision_json")),
            verifiedAt: try row.value("case_verified_at"), expiresAt: try row.value("case_expires_at"))
        return Queried(id: try row.value("id"), accountID: try row.value("account_id"),
                       claims: StoredJSON.list(try row.value("claims")).compactMap(PlatformClaim.init(rawValue:)), verified: verified)
    }

    /// The columns a `Grant` is read from (`grant(row:)`), on the path every verification takes.
    static let columnNames = ["id", "account_id", "platform_id", "subject", "claims", "session_id", "granted_at", "expires_at", "revoked_at", "revoked_by",
                              "last_queried_at"]
    static let columns = SQLQueryString(columnNames.joined(separator: ", "))
    /// Those of them that are timestamps (for `JSONRows`).
    static let dateColumns: Set = ["granted_at", "expires_at", "revoked_at", "last_queried_at"]

    static func grant(row: any SQLRow) throws -> Grant {
        Grant(id: try row.value("id"), accountID: try row.value("account_id"), platformID: try row.value("platform_id"),
              subject: try row.value("subject"), claims: StoredJSON.list(try row.value("claims")).compactMap(PlatformClaim.init(rawValue:)),
              sessionID: try row.value("session_id"), grantedAt: try row.value("granted_at"), expiresAt: try row.value("expires_at"),
              revokedAt: try row.value("revoked_at"), revokedBy: try row.value("revoked_by"), lastQueriedAt: try row.value("last_queried_at"))
    }

    /// Withdraws grants in one conditional statement and returns the ones it withdrew: one
    /// grant of the account (`id`), or every grant in force of the account for the platform.
    func revoke(account: UUID, id: UUID? = nil, platform: UUID? = nil, by: String, at now: Date) async throws -> [UUID] {
        var filter: SQLQueryString = "account_id = \(bind: account) AND revoked_at IS NULL"
        if let id { filter = filter + " AND id = \(bind: id)" }
        if let platform { filter = filter + " AND platform_id = \(bind: platform)" }
        let rows = try await db.sql().raw("""
            UPDATE grants SET revoked_at = \(bind: now), revoked_by = \(bind: by) WHERE \(filter) RETURNING id
            """).all()
        return try rows.map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// Notes the query on the grant if it is still in force (one conditional statement: false
    /// when it was withdrawn or ran out meanwhile), then counts it on its day.
    func recordQuery(_ grant: UUID, at now: Date) async throws -> Bool {
        try await !recordQueries([(grant, 1)], at: now).isEmpty
    }

    /// The verification queries' write for a batch of them (`counts`: how many queries each
    /// grant had): notes them on the grants still in force (one conditional statement: a grant
    /// withdrawn or run out meanwhile records nothing) and counts them on their day; answers
    /// the grants they were recorded under. On PostgreSQL one statement (one round trip on the
    /// write gate's connection), on SQLite two, in-process.
    func recordQueries(_ counts: [(grant: UUID, queries: Int)], at now: Date) async throws -> Set<UUID> {
        guard !counts.isEmpty else { return [] }
        let (sql, day) = (try db.sql(), ChinaTime.day(now))
        guard SQLEngine.of(db) == .sqlite else {
            // Arrays: one statement's text (and one prepared statement) for any batch.
            let rows = try await sql.raw("""
                WITH queried AS (
                  UPDATE grants SET last_queried_at = \(bind: now)
                  WHERE id = ANY(\(bind: counts.map(\.grant))) AND revoked_at IS NULL AND expires_at > \(bind: now) RETURNING id
                ), daily AS (
                  INSERT INTO grant_queries (grant_id, day, count, last_at)
                  SELECT queried.id, \(bind: day), batch.queries, \(bind: now)
                  FROM queried JOIN unnest(\(bind: counts.map(\.grant)), \(bind: counts.map(\.queries))) AS batch (grant_id, queries)
                    ON batch.grant_id = queried.id
                """ + Self.countingQueryDays + """
                )
                SELECT id FROM queried
                """).all()
            return Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
        }
        let rows = try await sql.raw("""
            UPDATE grants SET last_queried_at = \(bind: now)
            WHERE id IN (\(binds: counts.map(\.grant))) AND revoked_at IS NULL AND expires_at > \(bind: now) RETURNING id
            """).all()
        let noted = Set(try rows.map { try $0.decode(column: "id", as: UUID.self) })
        let recorded = counts.filter { noted.contains($0.grant) }
        guard !recorded.isEmpty else { return [] }
        var insert: SQLQueryString = "INSERT INTO grant_queries (grant_id, day, count, last_at) VALUES "
        for (index, item) in recorded.enumerated() {
            insert = insert + (index == 0 ? "" : ", ") + "(\(bind: item.grant), \(bind: day), \(bind: item.queries), \(bind: now))"
        }
        try await sql.raw(insert + Self.countingQueryDays).run()
        return noted
    }

    /// Queries added to their day's counts, after the `INSERT` of a batch's (`EXCLUDED.count`
    /// queries each).
    static let countingQueryDays: SQLQueryString = """
         ON CONFLICT (grant_id, day) DO UPDATE SET count = grant_queries.count + EXCLUDED.count, last_at = EXCLUDED.last_at
        """

    /// The per-day query counts under these grants, newest day first.
    func queries(of grants: [UUID], limit: Int = 200) async throws -> [GrantQueryDay] {
        guard !grants.isEmpty else { return [] }
        let rows = try await db.sql().select().columns("grant_id", "day", "count", "last_at").from("grant_queries")
            .where("grant_id", .in, grants).orderBy("day", .descending).limit(limit).all()
        return try rows.map {
            GrantQueryDay(grantID: try $0.decode(column: "grant_id", as: UUID.self), day: try $0.decode(column: "day", as: String.self),
                          count: try $0.decode(column: "count", as: Int.self), lastAt: try $0.decode(column: "last_at", as: Date.self))
        }
    }
}
