import Fluent
import NIOConcurrencyHelpers
import SQLKit
@testable import ShimingServer

extension TestShiming {
    /// Runs `reads` at once and answers their results in order, and how many batches they
    /// should take. On PostgreSQL a transaction holds `table` locked until the first read is
    /// blocked on it and every other read is either in a batch (the batcher runs up to
    /// `concurrent` at once; a batch is blocked on the lock, or waits for a connection of the
    /// pool) or waits in `batcher`; released, the blocked batches end and the waiting reads run
    /// as one more. Once every read is in a batch or waiting, the count is settled: the batches
    /// taken, and one more for the waiting reads (a leader that has not taken a batch yet takes
    /// all of them; the others take their next only after their batch ends). On SQLite (which
    /// never batches reads) they simply run in parallel, in no batch.
    func heldReads<Input, Output, T: Sendable>(_ table: String, batcher: Batcher<Input, Output>,
                                               _ reads: [@Sendable () async throws -> T]) async throws -> (results: [T], batches: Int) {
        let postgres = SQLEngine.of(db) == .postgres
        let db = db
        func locks(_ condition: String) async throws -> Int {
            try await db.sql().raw("SELECT COUNT(*) AS n FROM pg_locks WHERE relation = \(bind: table)::regclass AND \(unsafeRaw: condition)")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
        let release = NIOLockedValueBox(false)
        let holder = Task {
            guard postgres else { return }
            try await db.transaction { tx in
                try await tx.sql().raw("LOCK TABLE \(ident: table) IN ACCESS EXCLUSIVE MODE").run()
                try await waitUntil { release.withLockedValue { $0 } }
            }
        }
        if postgres { try await waitUntil { try await locks("granted AND mode = 'AccessExclusiveLock'") == 1 } }
        let results = try await withThrowingTaskGroup(of: (Int, T).self) { group in
            for (n, read) in reads.enumerated() {
                group.addTask { (n, try await read()) }
                if postgres, n == 0 { try await waitUntil { try await locks("NOT granted") >= 1 } }
            }
            var batches = 0
            if postgres {
                // Not "every running batch blocked on the lock": with three at once, the third
                // may still wait for a connection (it did, in about half the runs alone).
                try await waitUntil { batcher.running.calls + batcher.waiting == reads.count }
                batches = batcher.running.batches + (batcher.waiting > 0 ? 1 : 0)
            }
            release.withLockedValue { $0 = true }
            var results: [Int: T] = [:]
            for try await (n, result) in group { results[n] = result }
            return (reads.indices.map { results[$0]! }, batches)
        }
        try await holder.value
        return results
    }
}
