import Foundation
import NIOConcurrencyHelpers
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

    @Test("a failing body releases the lock")
    func releasesOnError() async throws {
        struct Boom: Error {}
        let lock = AsyncSerialLock()
        await #expect(throws: Boom.self) { try await lock.run { throw Boom() } }
        #expect(try await lock.run { 42 } == 42)
    }
}
