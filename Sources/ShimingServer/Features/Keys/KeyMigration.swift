import Foundation
import ShimingCore

/// Moves personal data stored before accounts had keys of their own from the master key to
/// each owner's key: every column in `SealedColumn.personal`, the decisions' words, and the
/// files. Batches are small transactions that swap a value only where the row still holds it,
/// so the move can stop anywhere (a killed process, a deploy) and resume where it was; the
/// minute sweep moves a batch at a time, `shiming keys migrate` the rest at once.
struct KeyMigrationService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    var store: Store { stores() }

    /// What is still under the master key, per column (`table.column`), plus decisions and files.
    func remaining() async throws -> [(String, Int)] {
        var counts: [(String, Int)] = []
        for column in SealedColumn.personal {
            counts.append(("\(column.table).\(column.column)", try await store.keyMigration.remaining(column)))
        }
        counts.append(("cases.decision_json", try await store.keyMigration.decisionsRemaining()))
        counts.append(("stored_files", try await store.keyMigration.filesUnderMasterCount()))
        return counts
    }

    /// What one batch did.
    struct Progress: Sendable, Equatable {
        var moved = 0
        var files = 0
        /// Values that would not open under the master key (left as they are).
        var unreadable = 0

        /// Whether the batch found nothing more to move.
        var isEmpty: Bool { moved == 0 && files == 0 }
    }

    /// Moves up to `limit` values (and up to `limit / 50` files, at least one).
    func step(limit: Int) async throws -> Progress {
        var progress = Progress()
        var budget = limit
        for column in SealedColumn.personal where budget > 0 {
            let (moved, unreadable) = try await Self.pages(of: column, budget: budget, in: store) { tx, column, after, page in
                try await tx.keyMigration.move(column, after: after, limit: page)
            }
            progress.moved += moved
            progress.unreadable += unreadable
            budget -= moved
        }
        if budget > 0 {
            let page = min(budget, 200)
            let moved = try await store.transaction { tx in try await tx.keyMigration.moveDecisions(limit: page) }
            progress.moved += moved
            budget -= moved
        }
        for file in try await store.keyMigration.filesUnderMaster(limit: max(1, limit / 50)) {
            // Written whole under the owner's key in place of the old bytes (one rename), then the
            // row is told; a file re-sealed before its row was told still opens (its owner's key
            // is tried second).
            try await context.files.write(try await context.files.read(file), id: file.id, owner: file.ownerID)
            try await store.transaction { tx in try await tx.keyMigration.fileMoved(file) }
            progress.files += 1
        }
        return progress
    }

    /// One page of a column's work: what moved, what would not open, and where to go on.
    typealias Page = @Sendable (Store, SealedColumn, UUID?, Int) async throws -> (moved: Int, unreadable: Int, cursor: UUID?)

    /// Runs `page` over a column in the order of its rows' ids, a transaction of at most 200
    /// values each, until `budget` values moved or the column ends.
    static func pages(of column: SealedColumn, budget: Int, in store: Store, _ page: @escaping Page) async throws -> (moved: Int, unreadable: Int) {
        var (moved, unreadable, budget) = (0, 0, budget)
        var cursor: UUID?
        repeat {
            let (size, after) = (min(budget, 200), cursor)
            let result = try await store.transaction { tx in try await page(tx, column, after, size) }
            moved += result.moved
            unreadable += result.unreadable
            budget -= result.moved
            cursor = result.cursor
        } while cursor != nil && budget > 0
        return (moved, unreadable)
    }
}
