import Fluent
import Foundation
import NIOConcurrencyHelpers
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
                                      details: ["reason": "test"], at: now, key: shiming.auditKey, on: tx)
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
            #expect(events.allSatisfy { $0.hash.hasPrefix("k1:") }, "keyed with the deployment's audit key")
            #expect(events[1].prevHash == events[0].hash)
            #expect(events[2].prevHash == events[1].hash)
            #expect(events[1].occurredAt == testStart.addingTimeInterval(1.234))
            #expect(events[0].details == #"{"reason":"test"}"#)
            let result = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db)
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
            #expect(try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) == .broken(seq: 3, reason: "content does not match its hash"))
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
            guard case .intact(let count, _) = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            #expect(count == 20)
        }
    }

    @Test("PostgreSQL: appenders on connections of their own (as other instances are) each lock the chain and read its end in one statement, and still form one unbroken chain")
    func appendersOnTheirOwnConnections() async throws {
        try await withShiming { shiming in
            guard SQLEngine.of(shiming.db) == .postgres else { return }
            let now = shiming.clock.now()
            // Outside the write gate: each transaction on a pool connection of its own, all at
            // once. An end read with a snapshot from before the lock was held would give two of
            // them the same sequence number, and the unique `seq` would refuse one.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<24 {
                    group.addTask {
                        _ = try await shiming.db.transaction { tx in
                            try await AuditLog.record("event.\(i)", actor: .system, subject: "s:\(i)", at: now, key: shiming.auditKey, on: tx)
                        }
                    }
                }
                try await group.waitForAll()
            }
            guard case .intact(let count, _) = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            #expect(count == 24)
        }
    }

    @Test("in a write group, each event chains to the one before it, also after a transaction of the group is rolled back")
    func groupedAppends() async throws {
        try await withShiming { shiming in
            let gate = shiming.app.shiming.writeGate
            let now = shiming.clock.now()
            let before = gate.commits
            let holding = NIOLockedValueBox(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The first holds the writer until the nine others queue: they then commit as one group.
                group.addTask {
                    try await gate.transaction(on: shiming.db) { tx in
                        try await AuditLog.record("event.first", actor: .system, at: now, key: shiming.auditKey, on: tx)
                        holding.withLockedValue { $0 = true }
                        try await waitUntil { gate.waiting >= 9 }
                    }
                }
                try await waitUntil { holding.withLockedValue({ $0 }) }
                for i in 0..<9 {
                    group.addTask {
                        do {
                            try await gate.transaction(on: shiming.db) { tx in
                                for step in 0..<2 {
                                    try await AuditLog.record("event.\(i).\(step)", actor: .system, at: now, key: shiming.auditKey, on: tx)
                                }
                                if i % 3 == 1 { throw Abandon() }  // after recording: its events must go
                            }
                        } catch is Abandon {}
                    }
                }
                try await group.waitForAll()
            }
            #expect(gate.commits - before == 2)
            guard case .intact(let count, _) = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            #expect(count == 1 + 6 * 2)
            let actions = Set(try await AuditLog.latest(20, on: shiming.db).map(\.action))
            #expect(!actions.contains("event.1.0") && !actions.contains("event.4.1") && actions.contains("event.8.1"))
        }
    }

    @Test("a group's events are stored field for field as they were chained, with and without subject and ip, in any number (one statement per 500)")
    func storedAsChained() async throws {
        try await withShiming { shiming in
            let now = shiming.clock.now()
            for count in [1, 7, 501] {
                let chained = try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
                    var events: [AuditEvent] = []
                    for n in 0..<count {
                        events.append(try await AuditLog.record(
                            "event.\(count).\(n)", actor: n % 2 == 0 ? .system : .anonymous, subject: n % 3 == 0 ? nil : "case:\(n)",
                            ip: n % 4 == 1 ? nil : "192.0.2.\(n % 250)", details: n % 5 == 0 ? [:] : ["n": "\(n)", "名": "审核"],
                            at: now.addingTimeInterval(Double(n) / 1000), key: shiming.auditKey, on: tx))
                    }
                    return events
                }
                let stored = try await AuditLog.latest(count, on: shiming.db).reversed()
                // The time as the chain hashes it (milliseconds): a stored one is read back to the microsecond.
                func fields(_ events: some Sequence<AuditEvent>) -> [AuditEvent] {
                    events.map { var event = $0; event.occurredAt = Date(timeIntervalSince1970: Double(AuditEvent.milliseconds($0.occurredAt)) / 1000); return event }
                }
                #expect(fields(stored) == fields(chained))
            }
            guard case .intact(let events, _) = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("chain broken")
                return
            }
            #expect(events == 1 + 7 + 501)
        }
    }

    @Test("an event recorded in a transaction that rolls back is not stored")
    func rollback() async throws {
        try await withShiming { shiming in
            let now = shiming.clock.now()
            await #expect(throws: Abandon.self) {
                try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx async throws -> Void in
                    try await AuditLog.record("case.created", actor: .system, at: now, key: shiming.auditKey, on: tx)
                    throw Abandon()
                }
            }
            let stored = try await AuditLog.latest(10, on: shiming.db)
            #expect(stored.isEmpty)
        }
    }
}

@Suite("Audit chain: keyed, checkpointed, guarded")
struct AuditCheckpointTests {
    func record(_ count: Int, _ shiming: TestShiming) async throws {
        let now = shiming.clock.now()
        for i in 0..<count {
            try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
                try await AuditLog.record("event.\(i)", actor: .system, subject: "s:\(i)", details: ["n": String(i)], at: now, key: shiming.auditKey, on: tx)
            }
        }
    }

    func checkpoints(_ shiming: TestShiming) -> AuditCheckpoints {
        AuditCheckpoints(configuration: shiming.configuration, keyRing: shiming.app.shiming.keyRing)
    }

    /// What someone with database access but without the key does: the guards go.
    func dropGuards(_ shiming: TestShiming) async throws {
        let sql = try shiming.db.sql()
        switch SQLEngine.of(shiming.db) {
        case .sqlite:
            try await sql.raw("DROP TRIGGER audit_events_no_update").run()
            try await sql.raw("DROP TRIGGER audit_events_no_delete").run()
        case .postgres:
            try await sql.raw("DROP TRIGGER audit_events_no_change ON audit_events").run()
            try await sql.raw("DROP TRIGGER audit_events_no_truncate ON audit_events").run()
        }
    }

    @Test("A chain recomputed without the key, a truncated log, removed guards and a forged checkpoint are all reported")
    func tamperings() async throws {
        try await withShiming { shiming in
            try await record(6, shiming)
            #expect(try await checkpoints(shiming).writeIfGrown(by: 1, on: shiming.db, at: shiming.clock.now()))
            #expect(try await AuditReport.make(shiming.app).problems.isEmpty)

            // Recomputed from the start with plain SHA-256: every link holds, the checkpoint does not.
            try await dropGuards(shiming)
            #expect(try await AuditReport.make(shiming.app).problems.contains { $0.contains("guards removed") })
            let sql = try shiming.db.sql()
            var previous = AuditEvent.genesisHash
            for var event in try await AuditEventRecord.query(on: shiming.db).sort(\.$seq).all().map(\.event) {
                if event.seq == 3 { event.details = #"{"n":"forged"}"# }
                event.prevHash = previous
                event.hash = AuditEvent.chainHash(previous: previous, fields: event.canonicalFields)
                try await sql.raw("UPDATE audit_events SET details = \(bind: event.details), prev_hash = \(bind: event.prevHash), hash = \(bind: event.hash) WHERE seq = \(bind: event.seq)").run()
                previous = event.hash
            }
            let rewritten = try await AuditReport.make(shiming.app).problems
            #expect(rewritten.contains { $0.contains("the chain was rewritten") }, "\(rewritten)")

            // Truncated: the newest events gone.
            try await sql.raw("DELETE FROM audit_events WHERE seq >= 5").run()
            #expect(try await AuditReport.make(shiming.app).problems.contains { $0.contains("events were removed") })
        }
    }

    @Test("Keyed events after which an unkeyed one appears break the chain; a checkpoint line without the key's mac is reported")
    func downgradeAndForgery() async throws {
        try await withShiming { shiming in
            try await record(3, shiming)
            try await dropGuards(shiming)
            let sql = try shiming.db.sql()
            var last = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$seq == 3).first()?.event)
            last.details = #"{"n":"forged"}"#
            last.hash = AuditEvent.chainHash(previous: last.prevHash, fields: last.canonicalFields)
            try await sql.raw("UPDATE audit_events SET details = \(bind: last.details), hash = \(bind: last.hash) WHERE seq = 3").run()
            #expect(try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db)
                == .broken(seq: 3, reason: "an unkeyed event after keyed ones (the chain was recomputed)"))

            let file = try #require(checkpoints(shiming).files.first)
            try #"{"at":"2026-11-21T08:00:00Z","hash":"x","mac":"00","seq":99}"#.appending("\n").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await AuditReport.make(shiming.app).problems.contains { $0.contains("not signed with this deployment's key") })
        }
    }

    @Test("serve writes a checkpoint at shutdown; PostgreSQL refuses TRUNCATE")
    func shutdownAndTruncate() async throws {
        try await withShiming { shiming in
            try await record(2, shiming)
            let worker = AuditCheckpointWorker.make(shiming.app)
            await worker.shutdownAsync(shiming.app)
            if case .last(let checkpoint) = checkpoints(shiming).read() { #expect(checkpoint.seq == 2) } else { Issue.record("no checkpoint") }
            if SQLEngine.of(shiming.db) == .postgres {
                await #expect(throws: (any Error).self) { try await shiming.db.sql().raw("TRUNCATE audit_events").run() }
            }
        }
    }
}
