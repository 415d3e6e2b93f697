import Fluent
import Foundation
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Audit chain")
struct AuditTests {
    struct Abandon: Error {}

    /// Records one event in its own transaction, as a state change would.
    func record(_ action: String, _ shiming: TestShiming, subject: String = "case:1") async throws {
        let now = shiming.clock.now()
        try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
            try await AuditLog.record(action, actor: .system, subject: subject, ip: "127.0.0.1",
                                      details: ["reason": "test"], at: now, on: tx)
        }
    }

    @Test("events are chained: each carries the hash of its predecessor, and the chain verifies")
    func chained() async throws {
        try await withShiming { shiming in
            for action in ["case.created", "case.submitted", "case.approved"] {
                try await record(action, shiming)
                shiming.clock.advance(by: 1.234)
            }
            let events = try await AuditLog.events(subject: "case:1", on: shiming.db)
            #expect(events.map(\.action) == ["case.created", "case.submitted", "case.approved"])
            #expect(events.map(\.seq) == [1, 2, 3])
            #expect(events[0].prevHash == String(repeating: "0", count: 64))
            #expect(events[1].prevHash == events[0].hash)
            #expect(events[2].prevHash == events[1].hash)
            #expect(events[1].occurredAt == testStart.addingTimeInterval(1.234))
            #expect(events[0].details == #"{"reason":"test"}"#)
            let result = try await AuditLog.verify(on: shiming.db)
            #expect(result == .intact(events: 3, lastHash: events[2].hash))
        }
    }

    @Test("the database refuses to change or delete an audit event")
    func appendOnly() async throws {
        try await withShiming { shiming in
            try await record("case.created", shiming)
            let sql = try #require(shiming.db as? any SQLDatabase)
            await #expect(throws: (any Error).self) {
                try await sql.raw("UPDATE audit_events SET action = 'forged'").run()
            }
            await #expect(throws: (any Error).self) {
                try await sql.raw("DELETE FROM audit_events").run()
            }
            #expect(try await AuditLog.latest(10, on: shiming.db).map(\.action) == ["case.created"])
        }
    }

    @Test("verification finds an event changed behind the database's back")
    func tamperDetected() async throws {
        try await withShiming { shiming in
            for action in ["a", "b", "c", "d"] { try await record(action, shiming) }
            let sql = try #require(shiming.db as? any SQLDatabase)
            // An attacker with database access removes the guard and edits history.
            switch SQLEngine.of(shiming.db) {
            case .sqlite: try await sql.raw("DROP TRIGGER audit_events_no_update").run()
            case .postgres: try await sql.raw("DROP TRIGGER audit_events_no_change ON audit_events").run()
            }
            try await sql.raw("UPDATE audit_events SET details = '{\"reason\":\"forged\"}' WHERE seq = 3").run()
            #expect(try await AuditLog.verify(on: shiming.db) == .broken(seq: 3, reason: "content does not match its hash"))
        }
    }

    @Test("concurrent appends form one unbroken chain")
    func concurrentAppends() async throws {
        try await withShiming { shiming in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask { try await record("event.\(i)", shiming, subject: "s:\(i)") }
                }
                try await group.waitForAll()
            }
            guard case .intact(let count, _) = try await AuditLog.verify(on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            #expect(count == 20)
        }
    }

    @Test("an event recorded in a transaction that rolls back is not stored")
    func rollback() async throws {
        try await withShiming { shiming in
            let now = shiming.clock.now()
            await #expect(throws: Abandon.self) {
                try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx async throws -> Void in
                    try await AuditLog.record("case.created", actor: .system, at: now, on: tx)
                    throw Abandon()
                }
            }
            let stored = try await AuditLog.latest(10, on: shiming.db)
            #expect(stored.isEmpty)
        }
    }
}
