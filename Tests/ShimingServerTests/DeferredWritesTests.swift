import Fluent
import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
@testable import ShimingServer

/// Writes nobody reads back, sent with the transaction's next statement (`DeferredWrites`).
@Suite("Writes sent with the transaction's next statement")
struct DeferredWritesTests {
    private func write(_ sql: String) -> (any SQLExpression, String) { (SQLRaw(sql), sql) }

    @Test("which writes wait and which statements carry them: a plain insert or update waits; a statement naming a waiting write's table does not carry it; two writes of one table wait together only as inserts")
    func rules() {
        #expect(DeferredWrites.target(of: "INSERT INTO case_transitions (id) VALUES ($1)")! == ("case_transitions", true))
        #expect(DeferredWrites.target(of: "UPDATE review_tasks SET state = $1 WHERE id = $2")! == ("review_tasks", false))
        #expect(DeferredWrites.target(of: "INSERT INTO \"outbox_messages\"(id) VALUES ($1)")! == ("outbox_messages", true))
        #expect(DeferredWrites.target(of: "INSERT INTO limit_windows (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET count = 1") == nil)
        #expect(DeferredWrites.target(of: "DELETE FROM sessions WHERE id = $1") == nil)
        #expect(DeferredWrites.target(of: "SELECT 1") == nil)

        #expect(DeferredWrites.occurrences(of: "cases", in: "SELECT * FROM cases JOIN case_transitions t ON t.case_id = cases.id") == 2)
        #expect(DeferredWrites.occurrences(of: "case_transitions", in: "SELECT * FROM Case_Transitions") == 1)
        #expect(DeferredWrites.occurrences(of: "cases", in: "SELECT * FROM showcases, cases_old") == 0)

        let queue = DeferredWrites()
        let (insertA, insertText) = write("INSERT INTO probe_a (n) VALUES ($1)")
        #expect(queue.queue(insertA, sql: insertText).accepted)
        let (again, first) = queue.queue(insertA, sql: insertText)
        #expect(again && first.isEmpty)  // two inserts into one table wait together
        let writes = queue.take()
        #expect(writes.count == 2)
        #expect(DeferredWrites.mayCarry(writes, sql: "SELECT n FROM probe_b WHERE n = $1"))
        #expect(DeferredWrites.mayCarry(writes, sql: "UPDATE probe_b SET n = 2 RETURNING n"))
        #expect(!DeferredWrites.mayCarry(writes, sql: "SELECT n FROM probe_b WHERE n IN (SELECT n FROM probe_a)"))
        #expect(!DeferredWrites.mayCarry(writes, sql: "SAVEPOINT grouped"))
        #expect(DeferredWrites.mayCarry(writes, sql: "WITH x AS (SELECT 1) SELECT * FROM x"))  // its parts join theirs
        #expect(!DeferredWrites.mayCarry(writes, sql: "WITH RECURSIVE x AS (SELECT 1) SELECT * FROM x"))

        // Writes an earlier body handed over go with a statement that reads their table, not
        // with one that writes it.
        _ = queue.queue(insertA, sql: insertText)
        #expect(queue.handOver())
        let handed = queue.take()
        #expect(handed.allSatisfy { $0.handedOver })
        #expect(DeferredWrites.mayCarry(handed, sql: "SELECT n FROM probe_a WHERE n = $1"))
        #expect(DeferredWrites.mayCarry(handed, sql: "WITH s AS (INSERT INTO probe_b (n) SELECT n FROM probe_a) SELECT 1"))
        #expect(!DeferredWrites.mayCarry(handed, sql: "UPDATE \"probe_a\" SET n = 1"))
        #expect(!DeferredWrites.mayCarry(handed, sql: "WITH s AS (INSERT INTO probe_a (n) VALUES ($1)) SELECT 1"))
        #expect(!DeferredWrites.mayCarry(handed, sql: "WITH s AS (DELETE FROM probe_a) SELECT 1"))
        #expect(!DeferredWrites.mayCarry(handed, sql: "MERGE INTO probe_b USING probe_a ON true WHEN MATCHED THEN DO NOTHING"))
        #expect(DeferredWrites.writtenTables(of: """
            WITH step0 AS (INSERT INTO limit_windows (key) VALUES ($1) ON CONFLICT (key) DO UPDATE SET count = 1)
            SELECT * FROM cases WHERE id = $2
            """)?.contains("limit_windows") == true)
        #expect(queue.handOver() == false)  // nothing queued

        // An update after an insert of the same table, or a write that reads a waiting write's
        // table, waits only after the queue was sent.
        _ = queue.queue(insertA, sql: insertText)
        let update = write("UPDATE probe_a SET n = n + 1")
        let afterUpdate = queue.queue(update.0, sql: update.1)
        #expect(afterUpdate.accepted && afterUpdate.sendFirst.map(\.table) == ["probe_a"])
        let reading = write("INSERT INTO probe_b (n) SELECT n FROM probe_a")
        #expect(queue.queue(reading.0, sql: reading.1).sendFirst.map(\.inserts) == [false])
        #expect(queue.take().map(\.table) == ["probe_b"])
        // A write that cannot wait runs at once, after the queue.
        _ = queue.queue(insertA, sql: insertText)
        let conflict = write("INSERT INTO probe_a (n) VALUES ($1) ON CONFLICT (n) DO NOTHING")
        let refused = queue.queue(conflict.0, sql: conflict.1)
        #expect(!refused.accepted && refused.sendFirst.count == 1 && queue.take().isEmpty)
        // At most `largest` wait.
        for _ in 0..<DeferredWrites.largest { #expect(queue.queue(insertA, sql: insertText).sendFirst.isEmpty) }
        #expect(queue.queue(insertA, sql: insertText).sendFirst.count == DeferredWrites.largest)
        queue.discard()
        #expect(queue.take().isEmpty)
    }

    private func numbers(_ table: String, on sql: any SQLDatabase) async throws -> [Int] {
        try await sql.raw("SELECT n FROM \(unsafeRaw: table) ORDER BY n").all().map { try $0.decode(column: "n", as: Int.self) }
    }

    /// Runs 12 transactions through the gate at once, the first held until the other 11 wait, so
    /// that those 11 commit in one group, in the order of their numbers (each starts once the one
    /// before waits); `body(n, sql)` is transaction n's. Answers the numbers of those that failed
    /// on a broken key, in order.
    private func twelveInAGroup(_ shiming: TestShiming, repeatable: Bool = false, footprint: @escaping @Sendable (Int) -> Set<String>? = { _ in nil },
                                _ body: @escaping @Sendable (Int, any SQLDatabase) async throws -> Void) async throws -> [Int] {
        let gate = shiming.app.shiming.writeGate
        let holding = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for n in 0..<12 {
                group.addTask {
                    do {
                        try await gate.transaction(on: shiming.db, repeatable: repeatable, footprint: footprint(n)) { tx in
                            if n == 0 {
                                holding.withLockedValue { $0 = true }
                                try await waitUntil { gate.waiting >= 11 }
                            }
                            try await body(n, try tx.sql())
                        }
                        return (n, false)
                    } catch let error as any DatabaseError where error.isConstraintFailure {
                        return (n, true)
                    }
                }
                if n == 0 { try await waitUntil { holding.withLockedValue({ $0 }) } } else { try await waitUntil { gate.waiting >= n } }
            }
            var failed: [Int] = []
            for try await (n, didFail) in group where didFail { failed.append(n) }
            return failed.sorted()
        }
    }

    @Test("in a PostgreSQL transaction the next statement carries the waiting writes in one round trip; a statement or a Fluent query that reads their table sees them; an update waits for the insert before it; what is left is sent before the commit, and a rollback drops it",
          .enabled(if: TestEngine.postgresURL != nil))
    func carried() async throws {
        struct Abandon: Error {}
        try await withShiming { shiming in
            let pool = try shiming.db.sql()
            try await pool.raw("CREATE TABLE deferred_probe (n INTEGER PRIMARY KEY)").run()
            try await pool.raw("CREATE TABLE deferred_other (n INTEGER PRIMARY KEY)").run()
            let gate = shiming.app.shiming.writeGate
            try await gate.transaction(on: shiming.db) { tx in
                let sql = try tx.sql()
                try await sql.runDeferred("INSERT INTO deferred_probe (n) VALUES (\(bind: 1))")
                try await sql.runDeferred("INSERT INTO deferred_probe (n) VALUES (\(bind: 2))")
                // A statement that does not name the table carries both, as one statement.
                #expect(try await numbers("deferred_other", on: sql).isEmpty)
                let carried = try await sql.raw("""
                    SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'WITH d0 AS (INSERT INTO deferred_probe%'
                    AND statement NOT LIKE '%pg_prepared_statements%'
                    """).all().map { try $0.decode(column: "statement", as: String.self) }
                #expect(carried.count == 1 && carried.first?.contains("d1 AS (INSERT INTO deferred_probe") == true, "\(carried)")
                #expect(try await numbers("deferred_probe", on: sql) == [1, 2])

                // The update sees the insert queued before it.
                try await sql.runDeferred("INSERT INTO deferred_probe (n) VALUES (\(bind: 3))")
                try await sql.runDeferred("UPDATE deferred_probe SET n = n + 10 WHERE n = \(bind: 3)")
                #expect(try await numbers("deferred_probe", on: sql) == [1, 2, 13])

                // Fluent's statements run after the queue.
                let message = OutgoingMessage(channel: .sms, to: "13700137000", template: "probe", text: "x")
                _ = try await Outbox(cipher: shiming.app.shiming.cipher).enqueue(message, at: testStart, on: tx)
                #expect(try await OutboxMessageRecord.query(on: tx).filter(\.$template == "probe").count() == 1)

                // Left waiting at the end: sent before the commit.
                try await sql.runDeferred("INSERT INTO deferred_other (n) VALUES (\(bind: 7))")
            }
            #expect(try await numbers("deferred_other", on: pool) == [7])
            #expect(try await numbers("deferred_probe", on: pool) == [1, 2, 13])

            await #expect(throws: Abandon.self) {
                try await gate.transaction(on: shiming.db) { tx in
                    try await tx.sql().runDeferred("INSERT INTO deferred_other (n) VALUES (\(bind: 8))")
                    throw Abandon()
                }
            }
            #expect(try await numbers("deferred_other", on: pool) == [7])
        }
    }

    @Test("in a group, a transaction's waiting writes go with the next one's first statement, its WITH clause included, where both named their rows and none in common; one that fails there fails its own transaction only, and the one that carried it commits",
          .enabled(if: TestEngine.postgresURL != nil))
    func handedOver() async throws {
        try await withShiming { shiming in
            let pool = try shiming.db.sql()
            try await pool.raw("CREATE TABLE handed_rows (n INTEGER PRIMARY KEY)").run()
            let gate = shiming.app.shiming.writeGate
            let before = gate.commits
            // What each one's first statement saw of the rows before its own (by its number).
            let seen = NIOLockedValueBox<[Int: Int]>([:])
            // 7 and 8 name a row in common: 8 sees what 7 wrote.
            let failed = try await twelveInAGroup(shiming, repeatable: true, footprint: { n in n == 7 || n == 8 ? ["row:\(n)", "pair"] : ["row:\(n)"] }) { n, sql in
                let count = try await sql.raw("""
                    WITH earlier AS (SELECT n FROM handed_rows WHERE n < \(bind: n)) SELECT COUNT(*) AS c FROM earlier
                    """).first()?.decode(column: "c", as: Int.self) ?? -1
                seen.withLockedValue { $0[n] = count }
                try await sql.runDeferred("INSERT INTO handed_rows (n) VALUES (\(bind: n))")
                // 2 queues its row twice: the key breaks where it is sent, with 3's first statement.
                if n == 2 { try await sql.runDeferred("INSERT INTO handed_rows (n) VALUES (\(bind: n))") }
            }
            #expect(failed == [2])
            let kept = (0..<12).filter { $0 != 2 }
            #expect(try await numbers("handed_rows", on: pool) == kept)
            #expect(gate.commits - before == 2)  // one alone, then eleven together
            // 8 ran after 7 and saw its row, with 0, 1, 3, 4, 5 and 6 (had 7 handed its write
            // over, 8's first statement would not have seen it).
            #expect(seen.withLockedValue { $0[8] } == 7)
            // The first statements that carried the writes before them, as the writer's
            // connection keeps them: their `WITH` clause after the carried parts.
            let carried = try await gate.transaction(on: shiming.db) { tx in
                try await tx.sql().raw("""
                    SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'WITH d0 AS (INSERT INTO handed_rows%earlier%'
                    """).all().map { try $0.decode(column: "statement", as: String.self) }
            }
            #expect(!carried.isEmpty && carried.allSatisfy { $0.contains("), earlier AS (SELECT n FROM handed_rows") }, "\(carried)")
        }
    }

    @Test("in a group, a waiting write that fails fails its own transaction only, with its error; the others commit, each with all of its writes",
          .enabled(if: TestEngine.postgresURL != nil))
    func failingWriteInAGroup() async throws {
        try await withShiming { shiming in
            let pool = try shiming.db.sql()
            try await pool.raw("CREATE TABLE deferred_group (n INTEGER PRIMARY KEY)").run()
            try await pool.raw("CREATE TABLE deferred_mark (n INTEGER PRIMARY KEY)").run()
            let gate = shiming.app.shiming.writeGate
            let before = gate.commits
            let failed = try await twelveInAGroup(shiming) { n, sql in
                try await sql.runDeferred("INSERT INTO deferred_mark (n) VALUES (\(bind: n))")
                try await sql.runDeferred("INSERT INTO deferred_group (n) VALUES (\(bind: n))")
                // Every third queues its row twice: its commit would break the key.
                if n % 3 == 2 { try await sql.runDeferred("INSERT INTO deferred_group (n) VALUES (\(bind: n))") }
            }
            let expected = (0..<12).filter { $0 % 3 == 2 }
            #expect(failed == expected)
            let kept = (0..<12).filter { $0 % 3 != 2 }
            #expect(try await numbers("deferred_group", on: pool) == kept)
            #expect(try await numbers("deferred_mark", on: pool) == kept)
            #expect(gate.commits - before == 2)  // one alone, then eleven together
        }
    }
}
