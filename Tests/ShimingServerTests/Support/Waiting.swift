/// Waits until `condition` holds, looking every 2 ms, at most 5,000 times (10 s): for tests that
/// hold one task until others have queued behind it. The wait asserts nothing; what the test
/// asserts afterwards tells whether they queued.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<5_000 where !condition() { try await Task.sleep(for: .milliseconds(2)) }
}
