import Fluent
import Foundation
import NIOConcurrencyHelpers
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
            // (the planner thinks almost none wait, as on a table grown since its last analysis;
            // on PostgreSQL kept so: no analysis in the background while the test runs).
            if TestEngine.postgresURL != nil {
                try await shiming.db.sql().raw("ALTER TABLE outbox_messages SET (autovacuum_enabled = false)").run()
            }
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

    @Test("a backlog is worked off round after round without pausing: 250 due messages in one call, rounds of a hundred")
    func backlogWorkedOff() async throws {
        try await withShiming { shiming in
            try await enqueueCodes(250, from: 13800160000, shiming)
            let clock = shiming.clock
            let report = try await Outbox(cipher: shiming.app.shiming.cipher).deliverAllDue(
                sink: shiming.sink, now: { clock.now() }, on: shiming.db, gate: shiming.app.shiming.writeGate, logger: shiming.app.logger)
            #expect(report == DeliveryReport(sent: 250, retrying: 0, failed: 0))
            #expect(shiming.sink.messages.count == 250)
            #expect(try await Outbox.statusCounts(on: shiming.db)[.sent] == 250)
            #expect(try await shiming.deliverOutbox() == DeliveryReport())
        }
    }

    /// The limit stops the test where deliveries run one at a time (the first would wait
    /// forever). It counts the test's setup too, which under the whole suite on PostgreSQL (every
    /// test making and migrating a database of its own at once) has taken a minute by itself.
    @Test("a round delivers several messages at once: the first is still being delivered when the second starts",
          .timeLimit(.minutes(5)))
    func deliveriesOverlap() async throws {
        try await withShiming { shiming in
            try await enqueueCodes(2, from: 13800170000, shiming)
            // The first delivery waits until the second has started; one at a time, it never would.
            let sink = MeetingSink(first: "13800170000", second: "13800170001")
            let report = try await Outbox(cipher: shiming.app.shiming.cipher).deliverDue(
                sink: sink, now: shiming.clock.now(), on: shiming.db, gate: shiming.app.shiming.writeGate, logger: shiming.app.logger)
            #expect(report == DeliveryReport(sent: 2, retrying: 0, failed: 0))
            #expect(try await Outbox.statusCounts(on: shiming.db)[.sent] == 2)
        }
    }

    @Test("a run's outcomes are recorded together, each as its own: sent, retried later, failed for good (PostgreSQL: in one statement)")
    func runOutcomesRecorded() async throws {
        try await withShiming { shiming in
            let enqueued = shiming.clock.now()  // the messages' times: this, a second later, two seconds later
            try await enqueueCodes(3, from: 13800180000, secondsApart: 1, shiming)
            let sql = try #require(shiming.db as? any SQLDatabase)
            try await sql.raw("""
                UPDATE outbox_messages SET attempts = \(bind: Outbox.maxAttempts - 1)
                WHERE id = (SELECT id FROM outbox_messages ORDER BY created_at DESC LIMIT 1)
                """).run()
            let now = shiming.clock.now()
            let report = try await Outbox(cipher: shiming.app.shiming.cipher).deliverDue(
                sink: FailingSink(failing: ["13800180001", "13800180002"]), now: now, on: shiming.db, gate: shiming.app.shiming.writeGate,
                logger: shiming.app.logger)
            #expect(report == DeliveryReport(sent: 1, retrying: 1, failed: 1))
            let records = try await OutboxMessageRecord.query(on: shiming.db).sort(\.$createdAt).all()
            try #require(records.count == 3)
            let (sent, retrying, failed) = (records[0], records[1], records[2])
            #expect(sent.status == "sent" && sent.attempts == 1 && sent.lastError == nil && sent.leaseUntil == nil)
            #expect(sent.sentAt.map { abs($0.timeIntervalSince(now)) < 0.001 } == true)
            #expect(abs(sent.nextAttemptAt.timeIntervalSince(enqueued)) < 0.001)
            #expect(retrying.status == "pending" && retrying.attempts == 1 && retrying.leaseUntil == nil && retrying.sentAt == nil)
            #expect(abs(retrying.nextAttemptAt.timeIntervalSince(now.addingTimeInterval(Outbox.backoff(afterAttempts: 1)))) < 0.001)
            #expect(retrying.lastError?.contains("refused") == true)
            #expect(failed.status == "failed" && failed.attempts == Outbox.maxAttempts && failed.leaseUntil == nil && failed.sentAt == nil)
            #expect(failed.lastError?.contains("refused") == true)
            #expect(abs(failed.nextAttemptAt.timeIntervalSince(enqueued.addingTimeInterval(2))) < 0.001, "a message failed for good keeps its time")
            // The retried one is delivered once its time comes; the others are not touched again.
            shiming.clock.advance(by: Outbox.backoff(afterAttempts: 1))
            let later = try await Outbox(cipher: shiming.app.shiming.cipher).deliverDue(
                sink: FailingSink(failing: []), now: shiming.clock.now(), on: shiming.db, gate: shiming.app.shiming.writeGate, logger: shiming.app.logger)
            #expect(later == DeliveryReport(sent: 1, retrying: 0, failed: 0))
            #expect(try await Outbox.statusCounts(on: shiming.db) == [.pending: 0, .sending: 0, .sent: 2, .failed: 1])
        }
    }

    @Test("one recipient's messages are delivered one after another, in their order, among messages to others")
    func oneRecipientInOrder() async throws {
        try await withShiming { shiming in
            // Three to one number among nine to others, a second apart.
            for i in 0..<12 {
                var message = codeMessage
                message.to = i % 4 == 0 ? "13800180000" : String(13800181000 + i)
                message.text = "message \(i)"
                try await enqueue(message, shiming)
                shiming.clock.advance(by: 1)
            }
            let sink = TracingSink()
            let report = try await Outbox(cipher: shiming.app.shiming.cipher).deliverDue(
                sink: sink, now: shiming.clock.now(), on: shiming.db, gate: shiming.app.shiming.writeGate, logger: shiming.app.logger)
            #expect(report == DeliveryReport(sent: 12, retrying: 0, failed: 0))
            let events = sink.events.filter { $0.to == "13800180000" }
            #expect(events.map(\.text) == ["message 0", "message 0", "message 4", "message 4", "message 8", "message 8"])
            #expect(events.map(\.started) == [true, false, true, false, true, false])
        }
    }

    @Test("runs: at most eight at once, in order, a run ending before a second message to one of its recipients")
    func runsOfDeliveries() {
        let claimed = (0..<20).map { _ in Outbox.Claimed(id: UUID(), channel: "sms", template: "t", payload: "", attempts: 0) }
        // Recipients: a b c d e f g h i j (ten) then a k l m n o p q r s.
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "a", "k", "l", "m", "n", "o", "p", "q", "r", "s"]
        let items: [(Outbox.Claimed, Result<String, any Error>)] = zip(claimed, names).map { ($0, .success($1)) }
        let runs = Outbox.runs(of: items, recipient: { $0 })
        #expect(runs.map { $0.map { try! $0.1.get() } } == [["a", "b", "c", "d", "e", "f", "g", "h"], ["i", "j", "a", "k", "l", "m", "n", "o"],
                                                            ["p", "q", "r", "s"]])
        let repeated: [(Outbox.Claimed, Result<String, any Error>)] = zip(claimed, ["a", "b", "a", "a", "c"]).map { ($0, .success($1)) }
        #expect(Outbox.runs(of: repeated, recipient: { $0 }).map { $0.map { try! $0.1.get() } } == [["a", "b"], ["a"], ["a", "c"]])
        #expect(Outbox.runs(of: [(Outbox.Claimed, Result<String, any Error>)](), recipient: { $0 }).isEmpty)
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

/// A sink whose delivery to `first` waits until the delivery to `second` has started.
final class MeetingSink: MessageSink {
    let first: String
    let second: String
    private let state = NIOLockedValueBox<(secondStarted: Bool, waiting: CheckedContinuation<Void, Never>?)>((false, nil))

    init(first: String, second: String) {
        (self.first, self.second) = (first, second)
    }

    var description: String { "meeting (tests)" }

    func deliver(_ message: OutgoingMessage, at: Date) async throws {
        if message.to == first {
            await withCheckedContinuation { continuation in
                let go = state.withLockedValue { state -> Bool in
                    if state.secondStarted { return true }
                    state.waiting = continuation
                    return false
                }
                if go { continuation.resume() }
            }
        } else if message.to == second {
            state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
                state.secondStarted = true
                defer { state.waiting = nil }
                return state.waiting
            }?.resume()
        }
    }
}

/// A sink that records when each delivery starts and ends, and lets others run in between.
final class TracingSink: MessageSink {
    struct Event: Equatable {
        var to: String
        var text: String
        var started: Bool
    }
    private let state = NIOLockedValueBox<[Event]>([])

    var description: String { "tracing (tests)" }
    var events: [Event] { state.withLockedValue { $0 } }

    func deliver(_ message: OutgoingMessage, at: Date) async throws {
        state.withLockedValue { $0.append(Event(to: message.to, text: message.text, started: true)) }
        for _ in 0..<3 { await Task.yield() }
        state.withLockedValue { $0.append(Event(to: message.to, text: message.text, started: false)) }
    }
}

/// A sink that refuses the messages to some recipients and takes the others.
struct FailingSink: MessageSink {
    struct Refused: Error, CustomStringConvertible {
        var description: String { "refused (tests)" }
    }
    let failing: Set<String>

    var description: String { "failing (tests)" }

    func deliver(_ message: OutgoingMessage, at: Date) async throws {
        if failing.contains(message.to) { throw Refused() }
    }
}
