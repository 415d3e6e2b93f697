import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// The verification queries' write for a batch of them, where each key's calls all fit:
    /// counts each key's calls in its rate window (`keys`, each at most `allowance` calls; a key
    /// whose calls would pass the allowance counts none), then notes the calls of the keys
    /// counted on their grants still in force and counts them on their day (`queries`: one per
    /// call with a grant). Answers each counted key's count after its calls (keys absent did not
    /// fit) and the grants noted.
    ///
    /// PostgreSQL: one statement, one round trip of the writer's chain instead of two. The
    /// rate window's count and the grants' notes are data-modifying `WITH` parts; the notes
    /// read the counted keys from the count's `RETURNING`, so a key that did not fit notes
    /// nothing. SQLite: `PlatformStore.countCalls` and `GrantStore.recordQueries` in turn.
    ///
    /// The arrays are read through `(SELECT $n)`, which PostgreSQL does not look into when it
    /// plans: a plan for the values at hand saw how many keys and queries a batch has, came out
    /// cheaper than the plan for any values, and so PostgreSQL planned the statement again at
    /// every batch (0.23 ms of the server's work a batch, more than running it). Now one plan
    /// serves, made afresh as the data grows (`PlannedAsDataGrows`).
    ///
    /// In a transaction whose first statement this is and that takes the audit chain's lock
    /// itself (`AuditChainTail.awaitingLock`), the statement takes it too, one round trip less:
    /// `chain` calls `audit_chain_end()`, which locks, then reads the end with a snapshot of its
    /// own (so it sees every event committed before the lock). The count's rows are joined to
    /// `chain` (always one row), so no row is counted, nor locked, before the lock is held. The
    /// end comes back as a row of its own (no id; no sequence when the chain is empty).
    func countCallsAndRecordQueries(keys: [(key: UUID, calls: Int)], window: Int64, allowance: Int, queries: [(grant: UUID, key: UUID)],
                                    at now: Date) async throws -> (counts: [UUID: Int], recorded: Set<UUID>) {
        let keys = keys.filter { $0.calls <= allowance }  // (a window's first calls are inserted without the condition)
        let tail = AuditChainTail.current
        guard !keys.isEmpty else {
            try await tail?.lock(on: database.sql())  // before the calls are counted one by one
            return ([:], [])
        }
        guard SQLEngine.of(database) == .postgres else {
            var counts: [UUID: Int] = [:]
            for (key, calls) in keys {
                counts[key] = try await platforms.countCalls(key: key, window: window, calls: calls, allowance: allowance)
            }
            var perGrant: [UUID: Int] = [:]
            for query in queries where counts[query.key] != nil { perGrant[query.grant, default: 0] += 1 }
            return (counts, try await grants.recordQueries(perGrant.map { ($0.key, $0.value) }, at: now))
        }
        let locks = tail?.awaitsLock == true
        let chain: SQLQueryString = locks ? """
            chain AS MATERIALIZED (
              SELECT last.seq, last.hash FROM (VALUES (1)) AS one (n) LEFT JOIN audit_chain_end() AS last ON true
            ),\n
            """ : ""
        let joined: SQLQueryString = locks ? "CROSS JOIN chain" : ""
        let statement: SQLQueryString = """
            WITH \(chain)counted AS (
              INSERT INTO platform_rate_windows (key_id, window_start, count)
              SELECT batch.key_id, \(bind: window), batch.calls FROM unnest((SELECT \(bind: keys.map(\.key))), (SELECT \(bind: keys.map(\.calls)))) AS batch (key_id, calls)
              \(joined)
              ON CONFLICT (key_id, window_start) DO UPDATE SET count = platform_rate_windows.count + EXCLUDED.count
              WHERE platform_rate_windows.count + EXCLUDED.count <= \(bind: allowance)
              RETURNING key_id, count
            ), admitted AS (
              SELECT asked.grant_id, count(*) AS queries
              FROM unnest((SELECT \(bind: queries.map(\.grant))), (SELECT \(bind: queries.map(\.key)))) AS asked (grant_id, key_id)
              JOIN counted ON counted.key_id = asked.key_id GROUP BY asked.grant_id
            ), queried AS (
              UPDATE grants SET last_queried_at = \(bind: now)
              WHERE id IN (SELECT grant_id FROM admitted) AND revoked_at IS NULL AND expires_at > \(bind: now) RETURNING id
            ), daily AS (
              INSERT INTO grant_queries (grant_id, day, count, last_at)
              SELECT queried.id, \(bind: ChinaTime.day(now)), admitted.queries, \(bind: now) FROM queried JOIN admitted ON admitted.grant_id = queried.id
            """ + GrantStore.countingQueryDays + """
            )
            SELECT key_id AS id, count::bigint AS count, NULL::bigint AS seq, NULL::text AS hash FROM counted
            UNION ALL SELECT id, NULL, NULL, NULL FROM queried
            """ + (locks ? " UNION ALL SELECT NULL, NULL, seq, hash FROM chain" : "")
        let rows = try await database.sql().planned(statement, forGrowth: gate.growth).all()
        var counts: [UUID: Int] = [:]
        var recorded: Set<UUID> = []
        for row in rows {
            guard !(try row.decodeNil(column: "id")) else {
                let seq: Int64? = try row.value("seq")
                tail?.locked(at: try seq.map { ($0, try row.value("hash")) })
                continue
            }
            let id: UUID = try row.value("id")
            if let count: Int = try row.value("count") { counts[id] = count } else { recorded.insert(id) }
        }
        return (counts, recorded)
    }
}
