import Fluent
@testable import ShimingServer

/// Waits until `condition` holds, looking every 2 ms, at most 15,000 times (30 s; the suites run in
/// parallel on a small machine, where a sleep of 2 ms can take much longer): for tests that
/// hold one task until others have queued behind it. The wait asserts nothing; what the test
/// asserts afterwards tells whether they queued.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<15_000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// `waitUntil` for a condition that must ask (the database, say).
func waitUntil(_ condition: () async throws -> Bool) async throws {
    for _ in 0..<15_000 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(2))
    }
}

extension WriteGate {
    /// Empty write transactions on `db` until the count of writes is a power of two, at least
    /// 32: then its growth step (`growth`) lasts as many writes again, more than any a test or
    /// the background makes meanwhile.
    func writeUntilJustDoubled(on db: any Database) async throws {
        while writes < 32 || writes & (writes - 1) != 0 { try await transaction(on: db) { _ in } }
    }
}
