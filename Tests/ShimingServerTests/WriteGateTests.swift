import Fluent
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Write gate")
struct WriteGateTests {
    @Test("the serial lock admits one holder at a time, first come first served")
    func serial() async throws {
        let lock = AsyncSerialLock()
        let state = NIOLockedValueBox((inside: 0, maxInside: 0, order: [Int]()))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<50 {
                group.addTask {
                    try await lock.run {
                        state.withLockedValue { $0.inside += 1; $0.maxInside = max($0.maxInside, $0.inside); $0.order.append(i) }
                        try await Task.sleep(for: .milliseconds(1))
                        state.withLockedValue { $0.inside -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        let final = state.withLockedValue { $0 }
        #expect(final.maxInside == 1)
        #expect(final.order.count == 50)
    }

    @Test("the gate's growth steps each time its writes double (their binary digits), and a transaction counts as a write")
    func growthSteps() async throws {
        #expect([0, 1, 2, 3, 4, 7, 8, 1_000, Int.max].map(WriteGate.growth(of:)) == [0, 1, 2, 2, 3, 3, 4, 10, 63])
        try await withShiming { shiming in
            let gate = shiming.app.shiming.writeGate
            let writes = gate.writes
            try await gate.transaction(on: shiming.db) { _ in }
            #expect(gate.writes > writes)  // (and others' in the background)
        }
    }

    @Test("a failing body releases the lock")
    func releasesOnError() async throws {
        struct Boom: Error {}
        let lock = AsyncSerialLock()
        await #expect(throws: Boom.self) { try await lock.run { throw Boom() } }
        #expect(try await lock.run { 42 } == 42)
    }

    @Test("transactions that queue commit together: each returns its own value or error after the one commit, a failed one leaves nothing")
    func groupCommit() async throws {
        try await withShiming { shiming in
            let gate = shiming.app.shiming.writeGate
            try await (shiming.db as! any SQLDatabase).raw("CREATE TABLE gate_probe (n INTEGER PRIMARY KEY)").run()
            let before = gate.commits
            let outcomes = try await Self.queued(50, on: shiming) { n, tx in
                try await (tx as! any SQLDatabase).raw("INSERT INTO gate_probe (n) VALUES (\(bind: n))").run()
                if n % 7 == 3 { throw Refused(n: n) }  // after writing: its row must go
                return n * 10
            }
            for n in 0..<50 {
                #expect(outcomes[n] == (n % 7 == 3 ? .failure(Refused(n: n)) : .success(n * 10)), "transaction \(n)")
            }
            let rows = try await (shiming.db as! any SQLDatabase).raw("SELECT n FROM gate_probe ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
            #expect(rows == (0..<50).filter { $0 % 7 != 3 })
            // 1 alone, then 32 and 17 together.
            #expect(gate.commits - before == 3)
            // The gate goes on after refusals.
            #expect(try await gate.transaction(on: shiming.db) { _ in 7 } == 7)
        }
    }

    struct Refused: Error, Equatable { let n: Int }

    /// Runs `count` transactions through the gate, the first holding the writer until the
    /// others queue, in the order of their numbers (then they commit in groups of 32 and the
    /// rest); each one's value or `Refused` error by its number.
    static func queued(_ count: Int, on shiming: TestShiming, repeatable: @escaping @Sendable (Int) -> Bool = { _ in false },
                       _ body: @escaping @Sendable (Int, any Database) async throws -> Int) async throws -> [Int: Result<Int, Refused>] {
        let gate = shiming.app.shiming.writeGate
        let holding = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: (Int, Result<Int, Refused>).self) { group in
            for n in 0..<count {
                group.addTask {
                    do {
                        let value = try await gate.transaction(on: shiming.db, repeatable: repeatable(n)) { tx in
                            if n == 0 {
                                holding.withLockedValue { $0 = true }
                                try await waitUntil { gate.waiting >= count - 1 }
                            }
                            return try await body(n, tx)
                        }
                        return (n, .success(value))
                    } catch let refused as Refused {
                        return (n, .failure(refused))
                    }
                }
                // Each queues before the next is started.
                if n == 0 {
                    try await waitUntil { holding.withLockedValue({ $0 }) }
                } else {
                    try await waitUntil { gate.waiting >= n }
                }
            }
            var outcomes: [Int: Result<Int, Refused>] = [:]
            for try await (n, outcome) in group { outcomes[n] = outcome }
            return outcomes
        }
    }

    @Test("on PostgreSQL repeatable transactions that follow each other in a group share one savepoint (on SQLite each has its own): one that fails (by throwing, or by a statement the database refuses) leaves nothing, the ones that shared its savepoint run again and commit once, each with its own value and audit event; the others run once")
    func repeatableShareASavepoint() async throws {
        try await withShiming { shiming in
            let sql = shiming.db as! any SQLDatabase
            try await sql.raw("CREATE TABLE gate_probe (n INTEGER PRIMARY KEY)").run()
            try await sql.raw("INSERT INTO gate_probe (n) VALUES (1000)").run()
            let now = shiming.clock.now()
            let runs = NIOLockedValueBox([Int: Int]())
            let count = 40
            // Every third is not repeatable; 3, 10, 17, … throw after writing; 5, 16, 27 write a row that is there already.
            let repeatable: @Sendable (Int) -> Bool = { $0 % 3 != 2 }
            func fails(_ n: Int) -> Bool { n % 7 == 3 || n % 11 == 5 }
            // 0 alone, then 1–32 and 33–39 in two groups.
            let outcomes = try await Self.queued(count, on: shiming, repeatable: repeatable) { n, tx in
                runs.withLockedValue { $0[n, default: 0] += 1 }
                try await (tx as! any SQLDatabase).raw("INSERT INTO gate_probe (n) VALUES (\(bind: n))").run()
                try await AuditLog.record("probe.\(n)", actor: .system, at: now, key: shiming.auditKey, on: tx)
                if n % 11 == 5 {
                    do {
                        try await (tx as! any SQLDatabase).raw("INSERT INTO gate_probe (n) VALUES (1000)").run()
                    } catch {
                        throw Refused(n: n)
                    }
                }
                if n % 7 == 3 { throw Refused(n: n) }  // after writing: its row and event must go
                return n * 10
            }
            for n in 0..<count {
                #expect(outcomes[n] == (fails(n) ? .failure(Refused(n: n)) : .success(n * 10)), "transaction \(n)")
            }
            let rows = try await sql.raw("SELECT n FROM gate_probe WHERE n < 1000 ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
            #expect(rows == (0..<count).filter { !fails($0) })
            let ran = runs.withLockedValue { $0 }
            // On PostgreSQL a repeatable one right after a repeatable one that committed shared
            // its savepoint: when the later one failed, the earlier ran again. On SQLite each has
            // a savepoint of its own. Nothing else runs twice.
            let sharesSavepoints = SQLEngine.of(sql: sql) == .postgres
            let again = !sharesSavepoints ? []
                : (1..<count).filter { n in repeatable(n) && repeatable(n - 1) && !fails(n - 1) && fails(n) }.map { $0 - 1 }
            #expect(!sharesSavepoints || !again.isEmpty)
            #expect(ran == Dictionary(uniqueKeysWithValues: (0..<count).map { ($0, again.contains($0) ? 2 : 1) }))
            guard case .intact(let events, _) = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            let probes = try await AuditLog.latest(200, on: shiming.db).map(\.action).filter { $0.hasPrefix("probe.") }
            #expect(probes.sorted() == (0..<count).filter { !fails($0) }.map { "probe.\($0)" }.sorted() && events >= probes.count)
        }
    }

    @Test("a transaction's body runs on the writer's own thread, statement after statement, never on a loop that serves requests")
    func writerThread() async throws {
        try await withShiming { shiming in
            let gate = shiming.app.shiming.writeGate
            // SQLite's writer runs its statements on a thread of its own, PostgreSQL's on an event loop of its own.
            let requestLoops = Array(shiming.app.eventLoopGroup.makeIterator())
            try await (shiming.db as! any SQLDatabase).raw("CREATE TABLE writer_probe (n INTEGER PRIMARY KEY)").run()
            // Alone and in a group of 8.
            for parallel in [1, 8] {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for n in 0..<parallel {
                        group.addTask {
                            try await gate.transaction(on: shiming.db) { tx in
                                let sql = tx as! any SQLDatabase
                                func place() -> (thread: pthread_t, servesRequests: Bool) {
                                    let loop = MultiThreadedEventLoopGroup.currentEventLoop
                                    return (pthread_self(), requestLoops.contains { $0 === loop })
                                }
                                var places = [place()]
                                for step in 0..<3 {
                                    try await sql.raw("INSERT INTO writer_probe (n) VALUES (\(bind: parallel * 100 + n * 10 + step))").run()
                                    places.append(place())
                                }
                                #expect(places.allSatisfy { !$0.servesRequests }, "transaction \(n) of \(parallel) ran on a request loop")
                                #expect(places.allSatisfy { pthread_equal($0.thread, places[0].thread) != 0 }, "transaction \(n) of \(parallel) changed threads")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            let count = try await (shiming.db as! any SQLDatabase).raw("SELECT COUNT(*) AS n FROM writer_probe").first()?.decode(column: "n", as: Int.self)
            #expect(count == 27)
        }
    }

    @Test("the writer runs a transaction in the caller's task (Fluent's starts a task of its own, which waited for a turn on the request loops): it commits with the writes queued last, and a failing body or queued write leaves nothing")
    func inPlaceTransactions() async throws {
        try await withShiming { shiming in
            let gate = shiming.app.shiming.writeGate
            let writer = try #require(gate.writerDatabase)
            let sql = shiming.db as! any SQLDatabase
            try await sql.raw("CREATE TABLE in_place_probe (n INTEGER PRIMARY KEY)").run()
            @Sendable func task() -> Int { withUnsafeCurrentTask { $0?.hashValue ?? 0 } }
            @Sendable func rows() async throws -> [Int] {
                try await sql.raw("SELECT n FROM in_place_probe ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
            }
            // Nothing else uses the writer meanwhile: on SQLite the gate's lock keeps it, and
            // PostgreSQL's writer is one connection, held by each transaction until it ends.
            try await gate.exclusive {
                let caller = task()
                let inside = try await writer.transactionInPlace { tx in
                    try await (tx as! any SQLDatabase).runDeferred("INSERT INTO in_place_probe (n) VALUES (1)")
                    return task()
                }
                #expect(inside == caller)
                #expect(try await writer.transaction { _ in task() } != caller)  // Fluent's own
                #expect(try await rows() == [1])
                await #expect(throws: Refused(n: 2)) {
                    try await writer.transactionInPlace { tx in
                        try await (tx as! any SQLDatabase).raw("INSERT INTO in_place_probe (n) VALUES (2)").run()
                        try await (tx as! any SQLDatabase).runDeferred("INSERT INTO in_place_probe (n) VALUES (3)")
                        throw Refused(n: 2)
                    }
                }
                await #expect(throws: (any Error).self) {  // the queued write breaks the key at the commit
                    try await writer.transactionInPlace { tx in
                        try await (tx as! any SQLDatabase).raw("INSERT INTO in_place_probe (n) VALUES (4)").run()
                        try await (tx as! any SQLDatabase).runDeferred("INSERT INTO in_place_probe (n) VALUES (1)")
                    }
                }
                #expect(try await rows() == [1])
                #expect(try await writer.transactionInPlace { _ in 5 } == 5)  // the connection goes on
            }
        }
    }

    @Test("on SQLite a sweep round writes nothing beside the write gate (a write on the read pool took the lock from under a group, whose requests failed with 'database is locked')")
    func sweepWritesThroughTheGate() async throws {
        guard TestEngine.postgresURL == nil else { return }
        try await withShiming { shiming in
            let database = try #require(shiming.db as? DirectSQLiteDatabase)
            guard case .pool(let pool) = database.source else { Issue.record("the application's SQLite database is not the read pool"); return }
            let sweeper = CaseSweeper.make(shiming.app)
            let before = pool.writeStatements
            try await sweeper.round()  // the day's retention turn, the export claims and expiry
            shiming.clock.advance(by: 86_400)
            try await sweeper.round()
            #expect(pool.writeStatements == before)
        }
    }

    @Test("the writer's one handle serves every write until the writer shuts down; after that a write is refused, not run")
    func writerRefusesAfterShutdown() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gate-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let writer = try GateWriter.sqlite(path: directory.appendingPathComponent("writer.sqlite").path, threadPool: pool, logger: Logger(label: "writer-test"))
        let gate = WriteGate(serialises: true, writer: writer)
        let db = try #require(gate.writerDatabase)
        try await gate.transaction(on: db) { tx in try await (tx as! any SQLDatabase).raw("CREATE TABLE probe (n INTEGER)").run() }
        for n in 1...3 {
            try await gate.transaction(on: db) { tx in try await (tx as! any SQLDatabase).raw("INSERT INTO probe (n) VALUES (\(bind: n))").run() }
        }
        let count = try await gate.transaction(on: db) { tx in
            try await (tx as! any SQLDatabase).raw("SELECT COUNT(*) AS n FROM probe").first()?.decode(column: "n", as: Int.self)
        }
        #expect(count == 3)

        await writer.shutdown()
        #expect(gate.writerDatabase == nil)
        let ran = NIOLockedValueBox(false)
        await #expect(throws: GateWriterError.self) {
            try await gate.transaction(on: db) { _ in ran.withLockedValue { $0 = true } }
        }
        #expect(ran.withLockedValue { $0 } == false)
        try await pool.shutdownGracefully()
    }
}
