import Fluent
import Foundation
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Allowances taken in turn")
struct LimitStoreTests {
    @Test("Several allowances are taken in turn, in one statement on PostgreSQL: the first without room stops the rest; the ones before it stay counted, the ones after it are not")
    func inTurn() async throws {
        try await withShiming { shiming in
            let store = Store(shiming.db, context: shiming.app.shiming)
            let now = shiming.clock.now()
            let day = Allowance(cap: 2, window: 24 * 3600)
            func counts() async throws -> [String: Int] {
                let rows = try await shiming.db.sql().raw("SELECT key, count FROM limit_windows WHERE key LIKE 'probe:%'").all()
                return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(column: "key", as: String.self), try $0.decode(column: "count", as: Int.self)) })
            }
            let three = [("probe:a", day), ("probe:b", Allowance(cap: 1, window: 24 * 3600)), ("probe:c", day)]
            let taken = try await store.transaction { tx in try await tx.limits.take(three, at: now) }
            #expect(taken == nil)
            #expect(try await counts() == ["probe:a": 1, "probe:b": 1, "probe:c": 1])
            // b has no room left: a is counted, b and c are not.
            let refused = try await store.transaction { tx in try await tx.limits.take(three, at: now) }
            #expect(refused == 1)
            #expect(try await counts() == ["probe:a": 2, "probe:b": 1, "probe:c": 1])
            // a has none now: nothing is counted.
            #expect(try await store.transaction { tx in try await tx.limits.take(three, at: now) } == 0)
            #expect(try await counts() == ["probe:a": 2, "probe:b": 1, "probe:c": 1])
            // A day later every window starts again.
            let later = now.addingTimeInterval(24 * 3600 + 1)
            #expect(try await store.transaction { tx in try await tx.limits.take(three, at: later) } == nil)
            #expect(try await counts() == ["probe:a": 1, "probe:b": 1, "probe:c": 1])
        }
    }
}
