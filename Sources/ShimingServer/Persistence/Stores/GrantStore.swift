import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Hosted verification sessions.
    var verificationSessions: VerificationSessionStore { VerificationSessionStore(db: database, cipher: cipher) }
    /// The subjects' grants and the platforms' queries under them.
    var grants: GrantStore { GrantStore(db: database, growth: gate.growth) }
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
    /// `WriteGate.growth` when the store was made: the query's read is planned for it.
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
