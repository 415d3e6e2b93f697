import Dispatch
import Synchronization
import VaporCSQLite

/// Copies the write-ahead log of one SQLite file back into the file (a checkpoint) on a
/// connection and a thread of its own, so that the write gate's commits never do.
///
/// SQLite checkpoints on the committing connection: once the log has grown past 1,000 pages,
/// the commit that crossed it copies them into the file and waits for the disk twice before it
/// returns. On the write gate that stalled every transaction queued behind the group (under the
/// submission load, 8 % of the writer's time and its longest waits). Here the writer's commits
/// only report the log's length (`SQLiteHandle.reportingWALGrowth(to:)`), and past
/// `threshold` pages this checkpointer runs a passive checkpoint beside them: it copies what
/// no reader still needs and never blocks the writer. SQLite starts the log over at the first
/// write after a checkpoint that copied everything. Durability does not change: the commits are
/// in the log, flushed, before anything is copied.
final class WALCheckpointer: Sendable {
    /// The log's length, in pages, past which a checkpoint runs (SQLite's own default).
    static let threshold: Int32 = 1_000

    private let handle: SQLiteHandle
    private let queue = DispatchQueue(label: "shiming.sqlite-checkpoint")
    /// A checkpoint is queued or running: later reports only wait for it.
    private let pending = Atomic<Bool>(false)
    private let finished = Atomic<Int>(0)

    init(path: String) throws {
        handle = try SQLiteHandle(path: path)
        // A connection finds the file in WAL mode (and its checkpoints stop being no-ops) when
        // it first reads it.
        _ = try handle.query("PRAGMA journal_mode", [])
    }

    /// Checkpoints run so far.
    var checkpoints: Int { finished.load(ordering: .relaxed) }

    /// A commit left the log `pages` long (called on the writer's thread: returns at once).
    func logGrew(to pages: Int32) {
        guard pages >= Self.threshold,
              pending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            // Reports from now on queue the next one: commits go on while this one copies.
            pending.store(false, ordering: .releasing)
            handle.checkpointPassively()
            finished.add(1, ordering: .relaxed)
        }
    }

    /// Waits for a queued checkpoint, then closes the connection.
    func close() {
        queue.sync {}
        handle.close()
    }
}
