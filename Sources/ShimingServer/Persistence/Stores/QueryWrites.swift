import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Whether the verification query reads its grant in its write's statement
    /// (`GrantStore.QueriedGrant.toRead`): on PostgreSQL, where a read of its own was a batch's
    /// round trip and a stage more for every query to wait through. On SQLite the reads cost
    /// microseconds in-process and are made before, in parallel, leaving the writer its writes.
    var readsQueriedGrantsInWrite: Bool { SQLEngine.of(database) == .postgres }

    /// What a batch of verification queries is expected to write, so that its write, audit
    /// events included, is one statement outside any transaction (PostgreSQL; `expecting` in
    /// `countCallsAndRecordQueries`): every key's calls counted, none of them its window's
    /// first; each query's grant in force as expected (nil: none), each noted; and the audit
    /// events for them, chained after the chain's end as expected.
    struct QueryExpectation: Sendable {
        /// Each query's grant expected (nil: none), in the order of the queries.
        let grants: [UUID?]
        /// The audit chain's end the events are chained after.
        let end: AuditChainEnd
        let events: [AuditEvent]
    }

    /// The verification queries' write for a batch of them, where each key's calls all fit:
    /// counts each key's calls in its rate window (`keys`, each at most `allowance` calls; a key
    /// whose calls would pass the allowance counts none), then notes the calls of the keys
    /// counted on their grants still in force and counts them on their day (`queries`: one per
    /// call, with its key and its grant, known or to be read). Answers each counted key's count
    /// after its calls (keys absent did not fit), the grants noted, and each query's grant in
    /// force with its verification (`found`, in order; nil: none; a row read here is decoded by
    /// whoever makes the answer, `GrantStore.Found`).
    ///
    /// PostgreSQL: one statement, one round trip of the writer's chain instead of two, and the
    /// grants to read are read in it too (`GrantStore.inForceJoins`), as of its start. The
    /// rate window's count and the grants' notes are data-modifying `WITH` parts; the notes
    /// read the counted keys from the count's `RETURNING`, so a key that did not fit notes
    /// nothing. SQLite: the reads, `PlatformStore.countCalls` and `GrantStore.recordQueries`
    /// in turn.
    ///
    /// The arrays are read through `(SELECT $n)`, which PostgreSQL does not look into when it
    /// plans: a plan for the values at hand saw how many keys and queries a batch has, came out
    /// cheaper than the plan for any values, and so PostgreSQL planned the statement again at
    /// every batch (0.23 ms of the server's work a batch, more than running it). Now one plan
    /// serves, made afresh as the data grows (`PlannedAsDataGrows`). The grants noted are found
    /// by the array of those admitted (`id = ANY (ARRAY(…))`, computed once): as a semi-join
    /// with `admitted`, a plan made while the table was small scanned `grants` whole and
    /// `admitted` again for each of its rows (5–6 ms a batch of 17 grants among 257, in the
    /// bench's row about 256 people).
    ///
    /// In a transaction whose first statement this is and that takes the audit chain's lock
    /// itself (`AuditChainTail.awaitingLock`), the statement takes it too, one round trip less:
    /// `chain` calls `audit_chain_end()`, which locks, then reads the end with a snapshot of its
    /// own (so it sees every event committed before the lock). The count's rows are joined to
    /// `chain` (always one row), so no row is counted, nor locked, before the lock is held. The
    /// end comes back as a row of its own (no id; no sequence when the chain is empty).
    ///
    /// `expecting` (PostgreSQL, outside a transaction): the statement also takes the chain's
    /// lock and inserts the expected events (`logged`), and checks under the lock that all it
    /// expected holds (`outcome_as_expected`, migration `CheckExpectedOutcomes`); where it
    /// does not, it fails, and nothing of it is kept.
    func countCallsAndRecordQueries(keys: [(key: UUID, calls: Int)], window: Int64, allowance: Int,
                                    queries: [(key: UUID, grant: GrantStore.QueriedGrant)], at now: Date,
                                    expecting expected: QueryExpectation? = nil) async throws
        -> (counts: [UUID: Int], recorded: Set<UUID>, found: [GrantStore.Found?]) {
        let all = keys.count
        let keys = keys.filter { $0.calls <= allowance }  // (a window's first calls are inserted without the condition)
        // An expected outcome is written on PostgreSQL alone, and every key is in it.
        guard expected == nil || (keys.count == all && SQLEngine.of(database) == .postgres) else { throw OutcomeNotExpected() }
        let tail = AuditChainTail.current
        var found = queries.map { query -> GrantStore.Found? in if case .known(let grant?) = query.grant { GrantStore.Found(grant) } else { nil } }
        let toRead = queries.indices.compactMap { index -> (index: Int, read: GrantStore.InForceRead)? in
            if case .toRead(let read) = queries[index].grant { (index, read) } else { nil }
        }
        guard !keys.isEmpty, SQLEngine.of(database) == .postgres else {
            if keys.isEmpty { try await tail?.lock(on: database.sql()) }  // before the calls are counted one by one
            let read = try await grants.inForceWithVerification(toRead.map(\.read))
            for (index, grant) in zip(toRead.map(\.index), read) { found[index] = grant.map(GrantStore.Found.init) }
            guard !keys.isEmpty else { return ([:], [], found) }
            var counts: [UUID: Int] = [:]
            for (key, calls) in keys {
                counts[key] = try await platforms.countCalls(key: key, window: window, calls: calls, allowance: allowance)
            }
            var perGrant: [UUID: Int] = [:]
            for (query, grant) in zip(queries, found) where counts[query.key] != nil {
                if let grant { perGrant[grant.id, default: 0] += 1 }
            }
            return (counts, try await grants.recordQueries(perGrant.map { ($0.key, $0.value) }, at: now), found)
        }
        let known = zip(queries, found).compactMap { query, grant in grant.map { ($0.id, query.key) } }
        let locks = tail?.awaitsLock == true || expected != nil
        let chain: SQLQueryString = locks ? """
            chain AS MATERIALIZED (
              SELECT last.seq, last.hash FROM (VALUES (1)) AS one (n) LEFT JOIN audit_chain_end() AS last ON true
            ),\n
            """ : ""
        let joined: SQLQueryString = locks ? "CROSS JOIN chain" : ""
        let reads = toRead.map(\.read)
        // Rows: each grant read (`asked`'s columns, its place `n` first), then each counted key,
        // each noted grant and the chain's end, with NULL in the columns they do not have.
        let blank = SQLQueryString(String(repeating: "NULL, ", count: 2 + GrantStore.answeredColumns))
        let statement: SQLQueryString = """
            WITH \(chain)counted AS (
              INSERT INTO platform_rate_windows (key_id, window_start, count)
              SELECT batch.key_id, \(bind: window), batch.calls FROM unnest((SELECT \(bind: keys.map(\.key))), (SELECT \(bind: keys.map(\.calls)))) AS batch (key_id, calls)
              \(joined)
              ON CONFLICT (key_id, window_start) DO UPDATE SET count = platform_rate_windows.count + EXCLUDED.count
              WHERE platform_rate_windows.count + EXCLUDED.count <= \(bind: allowance)
              RETURNING key_id, count
            ), asked AS (
              SELECT asked.n, asked.key_id, found.id, found.account_id, found.claims, verified.*
              FROM \(GrantStore.asked(reads, keys: toRead.map { queries[$0.index].key }))
              \(GrantStore.inForceJoins(reads))
            ), admitted AS (
              SELECT queries.grant_id, count(*) AS queries FROM (
                SELECT id AS grant_id, key_id FROM asked
                UNION ALL SELECT * FROM unnest((SELECT \(bind: known.map(\.0))), (SELECT \(bind: known.map(\.1)))) AS known (grant_id, key_id)
              ) AS queries JOIN counted ON counted.key_id = queries.key_id GROUP BY queries.grant_id
            ), queried AS (
              UPDATE grants SET last_queried_at = \(bind: now)
              WHERE id = ANY (ARRAY(SELECT grant_id FROM admitted)) AND revoked_at IS NULL AND expires_at > \(bind: now) RETURNING id
            ), daily AS (
              INSERT INTO grant_queries (grant_id, day, count, last_at)
              SELECT queried.id, \(bind: ChinaTime.day(now)), admitted.queries, \(bind: now) FROM queried JOIN admitted ON admitted.grant_id = queried.id
            """ + GrantStore.countingQueryDays + """
            )\(expected.map { Self.logged($0.events, after: $0.end) } ?? "")
            SELECT asked.*, NULL::bigint AS count, NULL::bigint AS seq, NULL::text AS hash FROM asked
            UNION ALL SELECT NULL, NULL, key_id, \(blank)count::bigint, NULL, NULL FROM counted
            UNION ALL SELECT NULL, NULL, id, \(blank)NULL, NULL, NULL FROM queried
            """ + (locks ? " UNION ALL SELECT NULL, NULL, NULL, \(blank)NULL, seq, hash FROM chain" : "")
            + (expected.map { Self.checked($0, keys: keys, reads: toRead.map(\.index), blank: blank) } ?? "")
        let rows = try await database.sql().planned(statement, forGrowth: gate.growth).all()
        var counts: [UUID: Int] = [:]
        var recorded: Set<UUID> = []
        for row in rows {
            if let n: Int = try row.value("n") {
                found[toRead[n - 1].index] = GrantStore.Found(id: try row.value("id"), row: row, engine: .postgres)
            } else if try row.decodeNil(column: "id") {
                let seq: Int64? = try row.value("seq")
                tail?.locked(at: try seq.map { ($0, try row.value("hash")) })
            } else if let count: Int = try row.value("count") {
                counts[try row.value("id")] = count
            } else {
                recorded.insert(try row.value("id"))
            }
        }
        return (counts, recorded, found)
    }
}

/// An outcome expected that `Store.countCallsAndRecordQueries` cannot check (on SQLite, or with a
/// key that has more calls than the allowance).
struct OutcomeNotExpected: Error {}

extension Store {
    /// The expected events' insert, a `WITH` part of the queries' write: after the chain's lock
    /// is held (`chain`), and only where the chain ends as expected.
    fileprivate static func logged(_ events: [AuditEvent], after end: AuditChainEnd) -> SQLQueryString {
        """
        , logged AS (
          INSERT INTO audit_events (id, seq, actor, action, subject, occurred_at, ip, details, prev_hash, hash)
          SELECT event.* FROM unnest((SELECT \(bind: events.map(\.id))), (SELECT \(bind: events.map(\.seq))), (SELECT \(bind: events.map(\.actor))),
            (SELECT \(bind: events.map(\.action))), (SELECT \(bind: NullableTexts(events.map(\.subject)))), (SELECT \(bind: events.map(\.occurredAt))),
            (SELECT \(bind: NullableTexts(events.map(\.ip)))), (SELECT \(bind: events.map(\.details))), (SELECT \(bind: events.map(\.prevHash))),
            (SELECT \(bind: events.map(\.hash))))
            AS event (id, seq, actor, action, subject, occurred_at, ip, details, prev_hash, hash)
          CROSS JOIN chain
          WHERE COALESCE(chain.seq, 0) = \(bind: end.seq) AND COALESCE(chain.hash, \(bind: AuditEvent.genesisHash)) = \(bind: end.hash)
          RETURNING seq
        )
        """
    }

    /// The check of all the queries' write expected, a last part of its `UNION ALL` that gives
    /// no row, or fails the statement: the chain ended as expected and every event was
    /// inserted; every key was counted, above its calls (so none was its window's first); the
    /// grants read (`reads`: the queries' places) are the ones expected, and every grant
    /// expected was noted.
    fileprivate static func checked(_ expected: QueryExpectation, keys: [(key: UUID, calls: Int)], reads: [Int],
                                    blank: SQLQueryString) -> SQLQueryString {
        let read = reads.enumerated().compactMap { n, index in expected.grants[index].map { (n + 1, $0) } }
        let noted = Set(expected.grants.compactMap { $0 }).count
        return """
             UNION ALL SELECT NULL, NULL, NULL, \(blank)NULL, NULL, NULL FROM chain WHERE NOT outcome_as_expected(
              COALESCE(chain.seq, 0) = \(bind: expected.end.seq) AND COALESCE(chain.hash, \(bind: AuditEvent.genesisHash)) = \(bind: expected.end.hash)
              AND (SELECT count(*) FROM logged) = \(bind: expected.events.count)
              AND (SELECT count(*) FROM counted
                   JOIN unnest((SELECT \(bind: keys.map(\.key))), (SELECT \(bind: keys.map(\.calls)))) AS batch (key_id, calls) ON batch.key_id = counted.key_id
                   WHERE counted.count > batch.calls) = \(bind: keys.count)
              AND (SELECT count(*) FROM asked) = \(bind: read.count)
              AND (SELECT count(*) FROM asked
                   JOIN unnest((SELECT \(bind: read.map(\.0))), (SELECT \(bind: read.map(\.1)))) AS expected (n, id) ON expected.n = asked.n AND expected.id = asked.id)
                  = \(bind: read.count)
              AND (SELECT count(*) FROM queried) = \(bind: noted))
            """
    }
}
