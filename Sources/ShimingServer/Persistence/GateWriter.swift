import Fluent
import FluentSQLiteDriver
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Vapor

/// Where the write gate runs its transactions when it groups them: one connection of its own
/// and an event loop of its own, which runs the transactions' bodies (`executor`), in a
/// `Databases` of its own on that loop. On SQLite the connection is an `SQLiteHandle`, whose
/// statements run on that loop itself.
///
/// A write transaction is a chain of statements, each awaited before the next, and every write
/// waits for the writer. On the application's loops each statement's answer (PostgreSQL's
/// reply; before session 23, SQLiteNIO's rows and completion, handed back from its thread pool)
/// queued behind the requests the loop was serving: the writer spent most of a transaction
/// waiting for its turn on a busy loop. Here a statement's answer and the code after it run at
/// once, on a loop that serves no requests.
final class GateWriter: Sendable {
    private let loops: MultiThreadedEventLoopGroup
    /// The one connection, in a `Databases` of the writer's own on its loop.
    private let databases: Databases
    /// The handle on that connection, made once: `Databases.database` looks the configuration
    /// up under a lock and builds a new handle at every call, and the gate asked for one for
    /// every transaction and every batch of verification queries (under the query load, 6 % of
    /// the writer's thread, which every query waits through).
    private let handle: (any Database)?
    /// Set at shutdown: the handle is no longer given out.
    private let closed = Atomic<Bool>(false)
    private let loopExecutor: EventLoopExecutor
    /// Where the transactions' bodies run (for `withTaskExecutorPreference`).
    var executor: any TaskExecutor { loopExecutor }
    /// Whether each group takes the audit chain's lock first of all (PostgreSQL), or its one
    /// transaction in its first statement (`AuditChainTail.awaitingLock`), so that appending an
    /// event need not.
    let locksChain: Bool
    /// On SQLite, what checkpoints the log in the writer's stead.
    let checkpointer: WALCheckpointer?

    private init(_ configuration: any DatabaseConfiguration, id: DatabaseID, threadPool: NIOThreadPool, locksChain: Bool,
                 checkpointer: WALCheckpointer? = nil, logger: Logger) {
        loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        databases = Databases(threadPool: threadPool, on: loops)
        databases.use(configuration, as: id, isDefault: false)
        loopExecutor = EventLoopExecutor(loops.next())
        handle = databases.database(id, logger: logger, on: loopExecutor.loop)
        self.locksChain = locksChain
        self.checkpointer = checkpointer
    }

    /// The writer on the SQLite file at `path`: one connection of its own (`SQLiteHandle`),
    /// which keeps its statements prepared and runs them on the writer's loop (the thread pool
    /// goes unused). SQLite's one writer needs no lock of the chain's own. The connection is
    /// set up once, as it lives as long as the writer:
    /// - its page cache holds 16 MiB instead of SQLite's 2 MiB: every write touches several
    ///   tables' indexes at random places (ids are random), and under load about a tenth of the
    ///   writer's time went to reading back pages it had evicted;
    /// - its savepoint journal stays in memory (`temp_store = MEMORY`). A group runs each
    ///   transaction in a savepoint, which copies every page it changes first; past 64 KiB
    ///   SQLite spilled those copies to a temporary file, and under the query load the writes
    ///   to it were a sixth of the writer's time. A group (at most 32 transactions of a few
    ///   pages each) keeps a few MiB at most, until its commit. Durability is the WAL's and
    ///   does not change;
    /// - its commits never checkpoint the log: a `WALCheckpointer` of its own does, beside it.
    static func sqlite(path: String, threadPool: NIOThreadPool, logger: Logger) throws -> GateWriter {
        let handle = try SQLiteHandle(path: path)
        _ = try handle.query("PRAGMA cache_size = -16384", [])
        _ = try handle.query("PRAGMA temp_store = MEMORY", [])
        let checkpointer = try WALCheckpointer(path: path)
        handle.reportingWALGrowth(to: checkpointer)
        return GateWriter(DirectSQLiteConfiguration(source: .handle(handle)), id: .sqliteWriter, threadPool: threadPool, locksChain: false,
                          checkpointer: checkpointer, logger: logger)
    }

    /// The writer on the PostgreSQL database at `url`. Every state change appends to the audit
    /// chain, ordered by a lock held until commit, so writes were one at a time already; the
    /// gate commits them in groups (one flush, one lock for a group). Each group takes the
    /// chain's lock first, before any row lock (a group of one transaction may take it in that
    /// transaction's first statement, still before any row: `AuditChainTail.awaitingLock`): two
    /// instances' groups then wait for each other whole, and cannot deadlock on rows one holds
    /// and the other wants while it waits for the chain.
    static func postgres(url: String, poolTimeout: Int, threadPool: NIOThreadPool, logger: Logger) throws -> GateWriter {
        GateWriter(try PreparedPostgresConfiguration(url: url, connectionsPerLoop: 1, poolTimeout: poolTimeout), id: .postgresWriter,
                   threadPool: threadPool, locksChain: true, logger: logger)
    }

    /// The database the gate's transactions run on; after shutdown an error (a write racing
    /// the application's end is refused, not run).
    func database() throws -> any Database {
        guard let handle, !closed.load(ordering: .acquiring) else { throw GateWriterError.shutDown }
        return handle
    }

    /// Closes the connection (and the checkpointer's), then stops the loop (jobs that come
    /// later run elsewhere).
    func shutdown() async {
        closed.store(true, ordering: .releasing)
        await databases.shutdownAsync()
        checkpointer?.close()
        loopExecutor.close()
        try? await loops.shutdownGracefully()
    }

    /// Ties the writer's shutdown to the application's.
    struct Shutdown: LifecycleHandler {
        let writer: GateWriter
        func shutdownAsync(_ application: Application) async { await writer.shutdown() }
    }
}

enum GateWriterError: Error {
    /// The application has shut down: there is no writer connection any more.
    case shutDown
}

/// A task executor whose jobs run on one event loop: the code between two statements of a
/// write transaction runs where the connection's answers arrive.
final class EventLoopExecutor: TaskExecutor {
    let loop: any EventLoop
    private let closed = NIOLockedValueBox(false)

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        // A loop that has stopped would drop the job, and a task must never be dropped: after
        // `close()` jobs go to the global executor instead.
        if closed.withLockedValue({ $0 }) {
            globalConcurrentExecutor.enqueue(job)
            return
        }
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        loop.execute { job.runSynchronously(on: executor) }
    }

    /// From now on, jobs run elsewhere (called before the loop shuts down).
    func close() {
        closed.withLockedValue { $0 = true }
    }
}

extension DatabaseID {
    /// The connection the write gate runs SQLite transactions on (the same file as `.sqlite`,
    /// in the writer's own `Databases`).
    static let sqliteWriter = DatabaseID(string: "sqlite-writer")
    /// The connection the write gate runs PostgreSQL transactions on (in the writer's own
    /// `Databases`).
    static let postgresWriter = DatabaseID(string: "postgres-writer")
}
