import Fluent
import Foundation
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Verification queries written in one statement where their outcome is expected")
struct QueryExpectationTests {
    @Test("On PostgreSQL a batch whose outcome this instance expects (its grants as last found, the chain's end as last committed here, no key's first call of the minute) is written in one statement, its audit events in it, alike to the long way's; where the outcome is not as expected (the chain moved elsewhere, a grant withdrawn, the allowance reached) nothing of that statement is kept and the long way answers, as it does at once for the batch after such a miss; the chain stays intact. On SQLite every batch goes the long way, with the same answers")
    func writtenAsExpected() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service, adjust: { $0.platformRatePerMinute = 17 }) { shiming in
            let (key, token, subject) = try await shiming.grantedShopper(service, admin: "admin.expected", phone: "13800138081", reference: "expected")
            let expectations = shiming.app.shiming.queryExpectations
            let postgres = SQLEngine.of(shiming.db) == .postgres
            /// Batches written in one statement, and not as expected, since the start.
            func ways(_ met: Int, _ unmet: Int) -> Bool {
                [expectations.met, expectations.unmet] == (postgres ? [met, unmet] : [0, 0])
            }
            func status(_ asked: String) async throws -> UInt {
                let response = try await shiming.query(key, asked)
                return response.status.code
            }
            let (audited, seen) = (try await shiming.queriesAudited(), try await shiming.queriesSeen(token))
            /// Calls counted this minute, queries audited and seen by the person since the start.
            func recorded() async throws -> [Int] {
                [try await shiming.callsCounted(), try await shiming.queriesAudited() - audited, try await shiming.queriesSeen(token) - seen]
            }
            func intact() async throws -> Bool {
                if case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) { true } else { false }
            }

            // The minute's first call, for a subject not found here yet: the long way.
            #expect(try await status(subject) == 200)
            #expect(ways(0, 0))
            // Expected now: in one statement, counted, noted and audited alike.
            #expect(try await status(subject) == 200)
            #expect(ways(1, 0))
            #expect(try await recorded() == [2, 2, 2])
            let events = try await AuditLog.latest(2, on: shiming.db)
            #expect(Set(events.map { [$0.actor, $0.action, $0.subject ?? "", $0.details, $0.ip ?? "", "\($0.occurredAt)"] }).count == 1)
            #expect(events.map(\.action) == ["verification.queried", "verification.queried"])

            // A subject without a grant: the long way, then expected as none; counted, not audited.
            #expect(try await [status("sub_none"), status("sub_none")] == [404, 404])
            #expect(ways(2, 0))
            #expect(try await recorded() == [4, 2, 2])

            // Six calls in one batch (three of each subject), after one alone: both expected.
            let subjects = [subject] + [subject, "sub_none", subject, "sub_none", subject, "sub_none"]
            #expect(try await shiming.heldQueries(key, subjects: subjects).map(\.status.code) == [200, 200, 404, 200, 404, 200, 404])
            #expect(ways(4, 0))
            #expect(try await recorded() == [11, 6, 6])

            // The chain moved by a write outside this instance's gate, as another instance's
            // would: the statement fails under the lock, the long way answers, audited once.
            _ = try await shiming.db.transaction { tx in
                try await AuditLog.record("test.elsewhere", actor: .system, at: shiming.clock.now(), key: shiming.auditKey, on: tx)
            }
            #expect(try await status(subject) == 200)
            #expect(ways(4, 1))
            #expect(try await recorded() == [12, 7, 7])
            // The batch right after a miss goes the long way at once (`QueryExpectations.attempts`).
            #expect(try await status(subject) == 200)
            #expect(ways(4, 1))
            #expect(try await recorded() == [13, 8, 8])
            #expect(try await status(subject) == 200)
            #expect(ways(5, 1))

            // The grant withdrawn: the grant expected is no longer in force; 404, not audited.
            let grants = try await shiming.send(.GET, "/api/v1/me/grants", headers: shiming.bearer(token)).json([GrantReply].self)
            let grant = try #require(grants.first { $0.state == "active" })
            #expect(try await shiming.send(.DELETE, "/api/v1/me/grants/\(grant.id)", headers: shiming.bearer(token)).status == .noContent)
            #expect(try await status(subject) == 404)
            #expect(ways(5, 2))
            // The first of the next two goes the long way (after the miss), the second is expected as none.
            #expect(try await [status(subject), status(subject)] == [404, 404])
            #expect(ways(6, 2))
            #expect(try await recorded() == [17, 9, 9])

            // Past the allowance: the count's condition fails the statement; the long way refuses.
            #expect(try await status(subject) == 429)
            #expect(ways(6, 3))
            #expect(try await recorded() == [17, 9, 9])
            #expect(try await intact())
        }
    }

    @Test("after the nth batch in a row not as expected, the next 2^(n-1) batches go the long way at once, at most 64; a batch written as expected ends the run of misses")
    func missesBackOff() {
        let expectations = QueryExpectations()
        func skipped() -> Int {
            var count = 0
            while !expectations.attempts() { count += 1 }
            return count
        }
        #expect(skipped() == 0)
        var skips: [Int] = []
        for _ in 0..<9 {
            expectations.wrote(asExpected: false)
            skips.append(skipped())
        }
        #expect(skips == [1, 2, 4, 8, 16, 32, 64, 64, 64])
        expectations.wrote(asExpected: true)
        expectations.wrote(asExpected: false)
        #expect(skipped() == 1)
        #expect(expectations.met == 1 && expectations.unmet == 10)
    }
}
