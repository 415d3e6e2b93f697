import Fluent
import Foundation
import NIOConcurrencyHelpers
import ShimingCore
import SQLKit
import Testing
import Vapor
@testable import ShimingServer

@Suite("Batches of writes")
struct BatcherTests {
    struct Odd: Error, Equatable { let n: Int }

    /// Runs `count` calls, the first holding its batch until the others wait; answers each
    /// call's result by its input.
    private func heldCalls(_ batcher: Batcher<Int, Int>, count: Int, body: @escaping Batcher<Int, Int>.Body) async throws -> [Int: Result<Int, Odd>] {
        let holding = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: (Int, Result<Int, Odd>).self) { group in
            for n in 0..<count {
                group.addTask {
                    do {
                        return (n, .success(try await batcher.run(n) { inputs in
                            if inputs == [0] {
                                holding.withLockedValue { $0 = true }
                                try? await waitUntil { batcher.waiting >= count - 1 }
                            }
                            return await body(inputs)
                        }))
                    } catch let odd as Odd {
                        return (n, .failure(odd))
                    }
                }
                if n == 0 {
                    try await waitUntil { holding.withLockedValue({ $0 }) }
                }
            }
            var results: [Int: Result<Int, Odd>] = [:]
            for try await (n, result) in group { results[n] = result }
            return results
        }
    }

    @Test("calls that queue while a batch runs run together, at most `largest` at a time, each with its own result; a call alone runs at once")
    func batches() async throws {
        let batcher = Batcher<Int, Int>(largest: 8)
        let sizes = NIOLockedValueBox<[Int]>([])
        let results = try await heldCalls(batcher, count: 21) { inputs in
            sizes.withLockedValue { $0.append(inputs.count) }
            return inputs.map { $0 % 2 == 1 ? .failure(Odd(n: $0)) : .success($0 * 10) }
        }
        #expect(sizes.withLockedValue { $0 } == [1, 8, 8, 4])
        #expect(batcher.batches == 4)
        for n in 0..<21 {
            #expect(results[n] == (n % 2 == 1 ? .failure(Odd(n: n)) : .success(n * 10)), "call \(n)")
        }
        // Once the leader has seen nobody waiting and ended (until then it would take this call
        // into a batch of its own operation: every caller must pass the same one).
        try await waitUntil { batcher.running.leaders == 0 }
        #expect(try await batcher.run(4) { inputs in inputs.map { .success($0 + 1) } } == 5)
        #expect(batcher.batches == 5 && batcher.waiting == 0)
    }

    @Test("with `concurrent` 2 a second batch runs while the first is held, and the calls that queue behind both run as one more")
    func concurrentBatches() async throws {
        let batcher = Batcher<Int, Int>(largest: 8, concurrent: 2)
        let second = NIOLockedValueBox(false)
        let released = NIOLockedValueBox(false)
        let sizes = NIOLockedValueBox<[Int]>([])
        /// A second batch runs beside the first, and the rest have queued.
        let queued = { @Sendable in second.withLockedValue({ $0 }) && batcher.waiting == 4 }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for n in 0..<6 {
                group.addTask {
                    (n, try await batcher.run(n) { inputs in
                        if inputs == [0] {
                            // Held until a second batch runs beside it and the rest queue.
                            try? await waitUntil(queued)
                            released.withLockedValue { $0 = queued() }
                        } else if inputs == [1] {
                            // Running while the first is held: no batch has ended yet.
                            second.withLockedValue { $0 = batcher.batches == 0 }
                            // Until the first has seen the rest queue (were it to end first, its
                            // leader could take them before the first saw them).
                            try? await waitUntil { released.withLockedValue({ $0 }) }
                        }
                        sizes.withLockedValue { $0.append(inputs.count) }
                        return inputs.map { .success($0 * 10) }
                    })
                }
                if n < 2 { try await waitUntil { batcher.running.calls == n + 1 } }
            }
            var results: [Int: Int] = [:]
            for try await (n, result) in group { results[n] = result }
            return results
        }
        #expect(second.withLockedValue { $0 } && released.withLockedValue { $0 })
        #expect(sizes.withLockedValue { $0.sorted() } == [1, 1, 4])
        #expect(results == Dictionary(uniqueKeysWithValues: (0..<6).map { ($0, $0 * 10) }))
        try await waitUntil { batcher.running.leaders == 0 }  // the leaders end once nobody waits
        #expect(batcher.batches == 3 && batcher.running.calls == 0 && batcher.waiting == 0)
    }

    @Test("with an executor, every batch runs there, also the ones a caller on another thread starts")
    func leadersOnTheirExecutor() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = loops.next()
        let executor = EventLoopExecutor(loop)
        let batcher = Batcher<Int, Bool>(largest: 4, executor: executor)
        let onLoop = try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<12 {
                group.addTask { try await batcher.run(n) { inputs in inputs.map { _ in .success(loop.inEventLoop) } } }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(onLoop == Array(repeating: true, count: 12))
        #expect(!loop.inEventLoop)
        executor.close()
        try await loops.shutdownGracefully()
    }

    @Test("a batch's results reach each caller on the loop it waits on, in order, and a caller on no loop's at once, before any other")
    func resumedOnTheirLoops() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (first, second) = (loops.next(), loops.next())
        #expect(first !== second)
        let seen = NIOLockedValueBox<[(item: Int, first: Bool, second: Bool)]>([])
        let items: [(loop: (any EventLoop)?, item: Int)] = [(first, 0), (second, 1), (nil, 2), (first, 3), (second, 4), (first, 5)]
        CallerLoops.deliver(items) { item in
            seen.withLockedValue { $0.append((item, first.inEventLoop, second.inEventLoop)) }
        }
        // The caller on no loop has its result before `deliver` hands the others to their loops
        // (which may already have run them by now).
        #expect(seen.withLockedValue { $0.first?.item } == 2)
        try await first.submit {}.get()
        try await second.submit {}.get()
        let delivered = seen.withLockedValue { $0 }
        #expect(delivered.map(\.item).sorted() == [0, 1, 2, 3, 4, 5])
        #expect(delivered.filter(\.first).map(\.item) == [0, 3, 5])
        #expect(delivered.filter(\.second).map(\.item) == [1, 4])
        try await loops.shutdownGracefully()
    }

    @Test("a batch whose operation answers the wrong number of results fails every call in it, and the batcher goes on")
    func miscounted() async throws {
        let batcher = Batcher<Int, Int>(largest: 64)
        await #expect(throws: BatcherError.resultsMiscounted) {
            try await batcher.run(1) { _ in [.success(1), .success(2)] }
        }
        #expect(try await batcher.run(2) { inputs in inputs.map { .success($0) } } == 2)
    }
}

@Suite("Verification queries written in batches")
struct QueryBatchTests {
    @Test("Queries that arrive while one is written are written together: 30 (5 of them for an unknown subject) in two batches, each call counted once, each answered query recorded and audited once; past the allowance the rest of a batch is 429 and not counted")
    func queriesInBatches() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service, adjust: { $0.platformRatePerMinute = 40 }) { shiming in
            let (key, token, subject) = try await shiming.grantedShopper(service, admin: "admin.batched", phone: "13800138071", reference: "batched")
            let context = shiming.app.shiming
            func counted() async throws -> Int { try await shiming.callsCounted() }
            func audited() async throws -> Int { try await shiming.queriesAudited() }
            func queriesSeen() async throws -> Int { try await shiming.queriesSeen(token) }
            /// `count` queries while the writer is held (the first `unknown` for a subject without
            /// a grant), how many of each status; a 429 tells when to retry.
            func heldQueries(_ count: Int, unknown: Int) async throws -> [UInt: Int] {
                let responses = try await shiming.heldQueries(key, subjects: (0..<count).map { $0 < unknown ? "sub_unknown" : subject })
                for response in responses {
                    #expect(response.status != .tooManyRequests || response.headers.first(name: .retryAfter) != nil)
                }
                return responses.reduce(into: [UInt: Int]()) { $0[$1.status.code, default: 0] += 1 }
            }

            let (batches, first) = (context.queryCalls.batches, try await (audited(), queriesSeen()))
            #expect(try await heldQueries(30, unknown: 5) == [200: 25, 404: 5])
            #expect(context.queryCalls.batches - batches == 2)
            #expect(try await [counted(), audited(), queriesSeen()] == [30, first.0 + 25, first.1 + 25])

            // 15 more in the same minute: the first fits (31), the batch of 14 would pass 40, so
            // its calls are counted one by one: 9 fit, 5 are refused and not counted.
            let before = try await (audited(), queriesSeen())
            #expect(try await heldQueries(15, unknown: 0) == [200: 10, 429: 5])
            #expect(try await [counted(), audited(), queriesSeen()] == [40, before.0 + 10, before.1 + 10])

            // `/metrics` tells how the writes were grouped: the batches, the transactions and
            // the groups they were committed in, as counted (nothing writes in between). Three
            // transactions more, two of them queued behind the first, so that some shared a
            // commit and the two counts differ.
            _ = try await WriteGateTests.queued(3, on: shiming) { n, _ in n }
            let metrics = try await shiming.send(.GET, "/metrics").text
            let gate = context.writeGate
            #expect(gate.commits < gate.grouped)
            for (name, value) in [("verification_query_batches", context.queryCalls.batches), ("write_transactions", gate.grouped),
                                  ("write_groups", gate.commits)] {
                #expect(metrics.contains("\n\(name) \(Double(value))\n"), "\(name) \(value) in \(metrics)")
            }
        }
    }

    @Test("A batch of queries alone in its group takes the audit chain's lock in its counting statement on PostgreSQL, before it locks any row: while another transaction holds the lock, the batch waits for it and that transaction can still lock the key's window and the grant; then the query is counted, recorded and audited once, the chain intact")
    func chainLockedByTheCount() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            let (key, _, subject) = try await shiming.grantedShopper(service, admin: "admin.chained", phone: "13800138073", reference: "chained")
            let (db, gate) = (shiming.db, shiming.app.shiming.writeGate)
            let postgres = SQLEngine.of(db) == .postgres
            // A transaction alone that says so leaves the lock to its first statement; others
            // (and every transaction on SQLite, which has no such lock) do not.
            #expect(try await gate.transaction(on: db, locksChainItself: true) { _ in AuditChainTail.current?.awaitsLock } == postgres)
            #expect(try await gate.transaction(on: db) { _ in AuditChainTail.current?.awaitsLock } == false)

            #expect(try await shiming.query(key, subject).status == .ok)  // the minute's window row exists from here on
            let (counted, audited) = (try await shiming.callsCounted(), try await shiming.queriesAudited())
            let window = Int64(shiming.clock.now().timeIntervalSince1970) / 60
            let holding = NIOLockedValueBox(false)
            let holder = Task {
                guard postgres else { return }
                try await db.transaction { tx in
                    let sql = try tx.sql()
                    try await sql.raw("SELECT pg_advisory_xact_lock(\(bind: AuditLog.advisoryLockKey))").run()
                    holding.withLockedValue { $0 = true }
                    try await waitUntil {
                        // (this database's: other tests' databases share the server's lock table)
                        try await db.sql().raw("""
                            SELECT COUNT(*) AS n FROM pg_locks
                            WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                            """).first()?.decode(column: "n", as: Int.self) == 1
                    }
                    // The batch waits for the lock: it must not hold the rows it will change.
                    try await sql.raw("SELECT count FROM platform_rate_windows WHERE window_start = \(bind: window) FOR UPDATE NOWAIT").run()
                    try await sql.raw("SELECT id FROM grants WHERE subject = \(bind: subject) FOR UPDATE NOWAIT").run()
                }
            }
            if postgres { try await waitUntil { holding.withLockedValue { $0 } } }
            #expect(try await shiming.query(key, subject).status == .ok)
            try await holder.value
            #expect(try await [shiming.callsCounted(), shiming.queriesAudited()] == [counted + 1, audited + 1])
            let chain = try await AuditLog.verify(key: shiming.auditKey.key, on: db)
            guard case .intact = chain else { Issue.record("\(chain)"); return }
        }
    }

    @Test("On PostgreSQL a batch's counting statement is planned once for any number of keys and queries (a plan for one batch's values came out cheaper, and PostgreSQL planned it again at every batch); each query is still counted, recorded and audited once")
    func countingPlannedOnce() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            guard SQLEngine.of(shiming.db) == .postgres, let writer = shiming.app.shiming.writeGate.writerDatabase else { return }
            let (key, _, subject) = try await shiming.grantedShopper(service, admin: "admin.planned", phone: "13800138074", reference: "planned")
            // Just past a doubling of the writes, so that the nine run under one growth step.
            try await shiming.app.shiming.writeGate.writeUntilJustDoubled(on: shiming.db)
            let (counted, audited) = (try await shiming.callsCounted(), try await shiming.queriesAudited())
            for _ in 0..<9 { #expect(try await shiming.query(key, subject).status == .ok) }
            #expect(try await [shiming.callsCounted(), shiming.queriesAudited()] == [counted + 9, audited + 9])
            // The writer's one connection holds the statement (one name per growth step).
            let plans = try await writer.sql().raw("""
                SELECT generic_plans, custom_plans FROM pg_prepared_statements
                WHERE statement LIKE '%INSERT INTO platform_rate_windows%' AND statement NOT LIKE '%pg_prepared_statements%'
                """).all().map { (try $0.decode(column: "generic_plans", as: Int.self), try $0.decode(column: "custom_plans", as: Int.self)) }
            #expect(!plans.isEmpty && plans.reduce(0) { $0 + $1.0 } > 0, "\(plans)")
            // PostgreSQL tries five plans for the values at hand before it compares.
            #expect(plans.allSatisfy { $0.1 <= 5 }, "\(plans)")
        }
    }

    @Test("The query's read gives, for each of 7 reads (the granted subject now, twice, and just before and after its grant runs out; for programs the platform does not accept; another platform's; an unknown subject), what a read alone gives: read together in one statement, and read in the query's write; who decided the verification is read (a decision that is not JSON as none); a verification past its end is not read")
    func readsTogether() async throws {
        let service = FakeIdentityService()
        // The case is changed below behind the instance's back, and each query must read it: no read kept (`VerificationLookups`).
        try await withShiming(identityService: service, adjust: { $0.sessionCacheSeconds = 0 }) { shiming in
            let (key, _, subject) = try await shiming.grantedShopper(service, admin: "admin.reads", phone: "13800138072", reference: "reads")
            let row = try #require(try await shiming.db.sql().raw("""
                SELECT grants.platform_id, grants.expires_at, cases.program, cases.id AS case_id FROM grants JOIN cases ON cases.account_id = grants.account_id
                WHERE grants.subject = \(bind: subject) AND cases.state = 'verified'
                """).first())
            let (platform, expires) = (try row.decode(column: "platform_id", as: UUID.self), try row.decode(column: "expires_at", as: Date.self))
            let (programs, verifiedCase) = ([try row.decode(column: "program", as: String.self)], try row.decode(column: "case_id", as: UUID.self))
            let keyID = try #require(try await shiming.db.sql().raw("SELECT id FROM platform_keys WHERE platform_id = \(bind: platform)").first()?
                .decode(column: "id", as: UUID.self))
            let now = shiming.clock.now()
            let reads = [(platform, subject, programs, now), (platform, subject, programs, expires.addingTimeInterval(1)), (UUID(), subject, programs, now),
                         (platform, "sub_unknown", programs, now), (platform, subject, programs, now), (platform, subject, programs, expires.addingTimeInterval(-1)),
                         (platform, subject, ["education-card"], now)]
                .map { GrantStore.InForceRead(platform: $0.0, subject: $0.1, programs: $0.2, now: $0.3) }
            let store = Store(shiming.db, context: shiming.app.shiming)
            // What each read alone gives.
            func alone(_ reads: [GrantStore.InForceRead]) async throws -> [GrantStore.Queried?] {
                var found: [GrantStore.Queried?] = []
                for read in reads {
                    found.append(try await store.grants.inForceWithVerification(platform: read.platform, subject: read.subject, programs: read.programs, at: read.now))
                }
                return found
            }
            let expected = try await alone(reads)
            #expect(expected.map { $0 != nil } == [true, false, false, false, true, true, true])
            #expect(expected.map { $0?.verified?.id } == [verifiedCase, nil, nil, nil, verifiedCase, verifiedCase, nil])
            // Together: one statement on PostgreSQL.
            #expect(try await store.grants.inForceWithVerification(reads) == expected)
            // In the query's write (PostgreSQL: in its counting statement), beside a grant known before it.
            let (window, allowance) = (PlatformService.window(now), shiming.app.shiming.configuration.platformRatePerMinute)
            let known = try #require(expected[0])
            let written = try await store.transaction(locksChainItself: true) { tx in
                try await tx.countCallsAndRecordQueries(keys: [(keyID, reads.count + 1)], window: window, allowance: allowance,
                                                        queries: [(keyID, .known(known))] + reads.map { (keyID, .toRead($0)) }, at: now)
            }
            #expect(try written.found.map { try $0?.queried() } == [known] + expected)
            #expect(written.counts[keyID] != nil && written.recorded == [known.id])

            // Who decided is read from the decision (not decoded whole): a person's decision answers "reviewed".
            #expect(expected[0]?.verified?.decidedBy == "system" && Set(expected[0]?.claims ?? []) == [.verified, .ageOver18, .maskedName])
            let reviewer = UUID().uuidString.lowercased()
            try await shiming.db.sql().raw("""
                UPDATE cases SET decision_json = REPLACE(decision_json, '"decidedBy":"system"', \(bind: "\"decidedBy\":\"\(reviewer)\"")) WHERE id = \(bind: verifiedCase)
                """).run()
            #expect(try await alone([reads[0]]).first??.verified?.decidedBy == reviewer)
            let together = try await store.grants.inForceWithVerification([reads[0], reads[3]])
            #expect(together.first??.verified?.decidedBy == reviewer)
            let answer = try await shiming.query(key, subject)
            #expect(answer.status == .ok, "\(answer.text)")
            #expect(try answer.json(VerificationReply.self).level == "reviewed")
            // A decision that is not JSON reads as none (as a case's read takes it), alone and together, and fails nothing.
            try await shiming.db.sql().raw("UPDATE cases SET decision_json = 'not json' WHERE id = \(bind: verifiedCase)").run()
            let unreadableAlone = try await alone([reads[0]]).first ?? nil
            #expect(unreadableAlone?.verified?.id == verifiedCase && unreadableAlone?.verified?.decidedBy == nil)
            let unreadable = try await store.grants.inForceWithVerification([reads[0], reads[3]]).first ?? nil
            #expect(unreadable?.verified?.id == verifiedCase && unreadable?.verified?.decidedBy == nil)
            let plain = try await shiming.query(key, subject)
            #expect(plain.status == .ok, "\(plain.text)")
            #expect(try plain.json(VerificationReply.self).level == "registry")

            // A verification that ran out is not read, alone or together; the grant still is.
            try await shiming.db.sql().raw("UPDATE cases SET expires_at = \(bind: now.addingTimeInterval(-1)) WHERE id = \(bind: verifiedCase)").run()
            let ended = try await store.grants.inForceWithVerification([reads[0], reads[3]]).first ?? nil
            #expect(ended != nil && ended?.verified == nil)
            #expect(try await alone([reads[0]]).first??.verified == nil)
        }
    }
}
