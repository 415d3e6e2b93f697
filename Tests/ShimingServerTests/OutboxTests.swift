import Fluent
import Foundation
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Outbox and message delivery")
struct OutboxTests {
    struct Abandon: Error {}
    struct RolledBack: Error { let plan: [String] }

    let codeMessage = OutgoingMessage(
        channel: .sms, to: "13800138000", template: "registration_code",
        text: "您的验证码是 246810，5 分钟内有效。", code: "246810"
    )

    func enqueue(_ message: OutgoingMessage, _ shiming: TestShiming) async throws {
        let outbox = Outbox(cipher: shiming.app.shiming.cipher)
        let now = shiming.clock.now()
        try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
            try await outbox.enqueue(message, at: now, on: tx)
        }
    }

    /// `count` code messages, each to its own number from `first` on, `secondsApart` apart.
    func enqueueCodes(_ count: Int, from first: Int, secondsApart: TimeInterval = 0, _ shiming: TestShiming) async throws {
        for i in 0..<count {
            var message = codeMessage
            message.to = String(first + i)
            try await enqueue(message, shiming)
            shiming.clock.advance(by: secondsApart)
        }
    }

    @Test("an enqueued message is delivered by the worker, not before")
    func deliver() async throws {
        try await withShiming { shiming in
            try await enqueue(codeMessage, shiming)
            #expect(shiming.sink.messages.isEmpty)
            let report = try await shiming.deliverOutbox()
            #expect(report == DeliveryReport(sent: 1, retrying: 0, failed: 0))
            #expect(shiming.sink.messages == [codeMessage])
            #expect(try await shiming.deliverOutbox() == DeliveryReport(), "a sent message is not sent again")
            #expect(try await Outbox.statusCounts(on: shiming.db)[.sent] == 1)
        }
    }

    @Test("a message enqueued in a transaction that rolls back is never sent")
    func rollback() async throws {
        try await withShiming { shiming in
            let outbox = Outbox(cipher: shiming.app.shiming.cipher)
            let now = shiming.clock.now()
            let message = codeMessage
            await #expect(throws: Abandon.self) {
                try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx async throws -> Void in
                    try await outbox.enqueue(message, at: now, on: tx)
                    throw Abandon()
                }
            }
            let report = try await shiming.deliverOutbox()
            #expect(report == DeliveryReport())
            #expect(shiming.sink.messages.isEmpty)
        }
    }

    @Test("recipient and text are encrypted at rest")
    func encryptedAtRest() async throws {
        try await withShiming { shiming in
            try await enqueue(codeMessage, shiming)
            let sql = try #require(shiming.db as? any SQLDatabase)
            let row = try #require(try await sql.raw("SELECT * FROM outbox_messages").first())
            let payload = try row.decode(column: "payload", as: String.self)
            #expect(!payload.contains("13800138000"))
            #expect(!payload.contains("246810"))
            #expect(payload.hasPrefix(shiming.app.shiming.keyRing.keyID + "."))
            #expect(try row.decode(column: "template", as: String.self) == "registration_code")
        }
    }

    @Test("a failed delivery is retried with exponential backoff and never lost")
    func retries() async throws {
        try await withShiming { shiming in
            try await enqueue(codeMessage, shiming)
            shiming.sink.failNext(2)
            #expect(try await shiming.deliverOutbox() == DeliveryReport(sent: 0, retrying: 1, failed: 0))
            #expect(try await shiming.deliverOutbox() == DeliveryReport(), "not due again before the backoff")
            shiming.clock.advance(by: 30)
            #expect(try await shiming.deliverOutbox() == DeliveryReport(sent: 0, retrying: 1, failed: 0))
            shiming.clock.advance(by: 59)
            #expect(try await shiming.deliverOutbox() == DeliveryReport())
            shiming.clock.advance(by: 1)
            #expect(try await shiming.deliverOutbox() == DeliveryReport(sent: 1, retrying: 0, failed: 0))
            #expect(shiming.sink.messages == [codeMessage])
        }
    }

    @Test("after the last attempt a message is kept as failed, with its error")
    func failsForGood() async throws {
        try await withShiming { shiming in
            try await enqueue(codeMessage, shiming)
            shiming.sink.failNext(Outbox.maxAttempts)
            var reports: [DeliveryReport] = []
            for _ in 0..<Outbox.maxAttempts {
                reports.append(try await shiming.deliverOutbox())
                shiming.clock.advance(by: 3600)
            }
            #expect(reports.last == DeliveryReport(sent: 0, retrying: 0, failed: 1))
            let record = try #require(try await OutboxMessageRecord.query(on: shiming.db).first())
            #expect(record.status == "failed")
            #expect(record.attempts == Outbox.maxAttempts)
            #expect(record.lastError?.contains("told to fail") == true)
            #expect(shiming.sink.messages.isEmpty)
        }
    }

    @Test("backoff doubles from 30 seconds and stops at an hour")
    func backoff() {
        #expect(Outbox.backoff(afterAttempts: 1) == 30)
        #expect(Outbox.backoff(afterAttempts: 2) == 60)
        #expect(Outbox.backoff(afterAttempts: 3) == 120)
        #expect(Outbox.backoff(afterAttempts: 20) == 3600)
    }

    @Test("two workers delivering at once send each message exactly once")
    func concurrentWorkers() async throws {
        try await withShiming { shiming in
            try await enqueueCodes(30, from: 13800130000, shiming)
            let reports = try await withThrowingTaskGroup(of: DeliveryReport.self) { group in
                for _ in 0..<3 { group.addTask { try await shiming.deliverOutbox() } }
                return try await group.reduce(into: [DeliveryReport]()) { $0.append($1) }
            }
            #expect(reports.map(\.sent).reduce(0, +) == 30)
            #expect(shiming.sink.messages.count == 30)
            #expect(Set(shiming.sink.messages.map(\.to)).count == 30)
        }
    }

    @Test("a claim locks its due messages once, however many are due (PostgreSQL: no locking subquery run again for every due row), reads at most its limit of each kind, and updates by id even where the statistics are out of date; the claim takes at most its limit, oldest first")
    func claimLocksOnce() async throws {
        try await withShiming { shiming in
            // Statistics taken while the table held 20 sent messages, then 240 waiting ones
            // (the planner thinks almost none wait, as on a table grown since its last analysis).
            try await enqueueCodes(20, from: 13800139000, shiming)
            try await shiming.db.sql().raw("UPDATE outbox_messages SET status = 'sent'").run()
            try await shiming.db.sql().raw("ANALYZE outbox_messages").run()
            try await enqueueCodes(240, from: 13800140000, secondsApart: 1, shiming)
            let now = shiming.clock.now()
            if TestEngine.postgresURL != nil {
                // The plan as it ran (then rolled back), on indexes as the planner picks for a
                // large table: each step's line ends with its rows and loops.
                var plan: [String] = []
                do {
                    try await shiming.db.transaction { tx in
                        try await tx.sql().raw("SET LOCAL enable_seqscan = off").run()
                        let rows = try await tx.sql().raw("EXPLAIN ANALYZE \(Outbox.claim(limit: 100, now: now, engine: .postgres))").all()
                        throw RolledBack(plan: try rows.map { try $0.decode(column: "QUERY PLAN", as: String.self) })
                    }
                } catch let rolledBack as RolledBack {
                    plan = rolledBack.plan
                }
                let shown = plan.joined(separator: "\n")
                let locking = plan.filter { $0.contains("LockRows") }
                #expect(locking.count == 2 && locking.allSatisfy { $0.contains("loops=1)") }, "\(shown)")
                // The 240 waiting messages are read in the index's order, 100 of them, not all,
                let scans = plan.filter { $0.contains("Scan using outbox_due") }
                #expect(!scans.isEmpty && scans.allSatisfy { Self.actualRows($0).map { $0 <= 100 } ?? false }, "\(shown)")
                // and no step handles more than the two kinds' hundred each (an update driven
                // by the due condition read all 240 and matched each against the claimed ones).
                #expect(plan.allSatisfy { (Self.actualRows($0) ?? 0) <= 200 && !$0.contains("Rows Removed by Join Filter") }, "\(shown)")
            }
            let oldest = try await shiming.db.sql().raw("SELECT id FROM outbox_messages WHERE status = 'pending' ORDER BY next_attempt_at LIMIT 100").all()
                .map { try $0.decode(column: "id", as: UUID.self) }
            let claimed = try await shiming.db.transaction { tx in
                try await Outbox(cipher: shiming.app.shiming.cipher).claimDue(limit: 100, now: now, on: tx)
            }
            #expect(claimed.map(\.id).sorted { $0.uuidString < $1.uuidString } == oldest.sorted { $0.uuidString < $1.uuidString })
            #expect(try await Outbox.statusCounts(on: shiming.db)[.sending] == 100)
        }
    }

    @Test("a claim whose lease lapsed is claimed again among the waiting messages, oldest first; one still leased is not")
    func lapsedClaimsJoinTheWaiting() async throws {
        try await withShiming { shiming in
            let outbox = Outbox(cipher: shiming.app.shiming.cipher)
            // Ten messages a second apart; the first four are claimed, and their lease lapses.
            try await enqueueCodes(10, from: 13800150000, secondsApart: 1, shiming)
            let first = try await shiming.db.transaction { tx in try await outbox.claimDue(limit: 4, now: shiming.clock.now(), on: tx) }
            #expect(first.count == 4)
            shiming.clock.advance(by: Outbox.lease + 1)
            // A claim of one, now; the lease it gives still runs at the claim after it.
            let second = try await shiming.db.transaction { tx in try await outbox.claimDue(limit: 1, now: shiming.clock.now(), on: tx) }
            let byAge = try await shiming.db.sql().raw("SELECT id FROM outbox_messages ORDER BY next_attempt_at").all()
                .map { try $0.decode(column: "id", as: UUID.self) }
            #expect(Set(first.map(\.id)) == Set(byAge[0..<4]))
            // The four lapsed are the oldest: the claim of one takes the first of them.
            #expect(second.map(\.id) == [byAge[0]])
            // Then the three still lapsed and the three oldest waiting, not the one leased again.
            let third = try await shiming.db.transaction { tx in try await outbox.claimDue(limit: 6, now: shiming.clock.now(), on: tx) }
            #expect(Set(third.map(\.id)) == Set(byAge[1..<7]))
            #expect(try await Outbox.statusCounts(on: shiming.db)[.sending] == 7)
        }
    }

    /// The actual rows of a plan line (`… (actual time=… rows=N loops=…)`).
    static func actualRows(_ line: String) -> Int? {
        guard let actual = line.range(of: "(actual "), let rows = line[actual.upperBound...].range(of: "rows=") else { return nil }
        return Int(line[rows.upperBound...].prefix { $0.isNumber })
    }

    @Test("the file sink appends one JSON line per message, with the code and the time")
    func fileSink() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)")
        let path = directory.appendingPathComponent("messages.jsonl").path
        let sink = FileMessageSink(path: path)
        try await sink.deliver(codeMessage, at: testStart)
        try await sink.deliver(
            OutgoingMessage(channel: .email, to: "li@example.com", template: "welcome", subject: "欢迎", text: "Hello"),
            at: testStart.addingTimeInterval(1)
        )
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String]
        #expect(first == [
            "channel": "sms", "to": "13800138000", "template": "registration_code",
            "text": "您的验证码是 246810，5 分钟内有效。", "code": "246810", "at": "2026-11-21T08:00:00Z",
        ])
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String]
        #expect(second?["code"] == nil)
        #expect(second?["channel"] == "email")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}

@Suite("Outbox worker in the background")
struct OutboxWorkerTests {
    @Test("the worker started by serve delivers without being asked, and stops on shutdown")
    func backgroundDelivery() async throws {
        try await withShiming { shiming in
            let worker = OutboxWorker.make(shiming.app)
            shiming.app.lifecycle.use(worker)
            worker.start()
            let outbox = Outbox(cipher: shiming.app.shiming.cipher)
            let now = shiming.clock.now()
            try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
                try await outbox.enqueue(
                    OutgoingMessage(channel: .email, to: "wang@example.com", template: "welcome", text: "欢迎"),
                    at: now, on: tx
                )
            }
            // Real time passes here: the worker polls every second.
            for _ in 0..<100 where shiming.sink.messages.isEmpty {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(shiming.sink.messages.map(\.to) == ["wang@example.com"])
        }
    }
}
