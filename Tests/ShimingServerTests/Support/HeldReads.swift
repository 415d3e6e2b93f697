import Fluent
import NIOConcurrencyHelpers
import SQLKit
@testable import ShimingServer

extension TestShiming {
    /// Runs `reads` at once and answers their results in order. On PostgreSQL a transaction
    /// holds `table` locked until the first read is blocked on it and the others wait in
    /// `batcher` behind it, so that they run as two batches; on SQLite (which never batches
    /// reads) they simply run in parallel.
    func heldReads<Input, Output, T: Sendable>(_ table: String, batcher: Batcher<Input, Output>,
                                               _ reads: [@Sendable () async throws -> T]) async throws -> [T] {
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
            if postgres { try await waitUntil { batcher.waiting == reads.count - 1 } }
            release.withLockedValue { $0 = true }
            var results: [Int: T] = [:]
            for try await (n, result) in group { results[n] = result }
            return reads.indices.map { results[$0]! }
        }
        try await holder.value
        return results
    }
}
