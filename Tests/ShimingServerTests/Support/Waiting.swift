/// Waits until `condition` holds, looking every 2 ms, at most 5,000 times (10 s): for tests that
/// hold one task until others have queued behind it. The wait asserts nothing; what the test
/// asserts afterwards tells whether they queued.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<5_000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(2))
    }
}

/// `waitUntil` for a condition that must ask (the database, say).
func waitUntil(_ condition: () async throws -> Bool) async throws {
    for _ in 0..<5_000 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(2))
    }
}
