import Fluent
import FluentSQLiteDriver
import NIOCore
import NIOPosix
import Vapor

/// The SQLite connection the write gate runs its transactions on, and the one thread that does
/// all of their work.
///
/// A write transaction is a chain of statements, each awaited before the next. On the shared
/// pools, every statement hopped to a pool thread and back to whichever event loop the task
/// ran on, and under load each hop back queued behind the requests that loop was serving: the
/// writer, which every write waits for, spent most of a transaction waiting for its turn on a
/// busy loop. Here the connection has a thread pool of one thread, and the transactions'
/// bodies prefer an executor that runs on that same thread (`executor`): a statement's work
/// and the code after it run one after the other on one thread, with no hop at all.
final class SQLiteWriter: GateWriter {
    private let threads: NIOThreadPool
    private let databases: Databases
    private let eventLoop: any EventLoop
    private let logger: Logger
    private let threadExecutor: ThreadPoolExecutor
    /// Runs tasks on the writer's thread (for `withTaskExecutorPreference`).
    var executor: any TaskExecutor { threadExecutor }
    /// The writer connection's settings, stated at the start of each group's transaction (a
    /// pool may open the connection anew). Its page cache holds 16 MiB instead of SQLite's
    /// 2 MiB: every write touches several tables' indexes at random places (ids are random),
    /// and under load about a tenth of the writer's time went to reading back pages it had evicted.
    var settings: [String] { ["PRAGMA cache_size = -16384"] }
    /// SQLite's one writer needs no lock of the chain's own.
    var locksChain: Bool { false }

    /// A writer on the SQLite file at `path`, its connection kept on one event loop of `group`.
    init(path: String, group: any EventLoopGroup, logger: Logger) {
        threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        databases = Databases(threadPool: threads, on: group)
        databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqliteWriter, isDefault: false)
        eventLoop = group.next()
        self.logger = logger
        threadExecutor = ThreadPoolExecutor(threads)
    }

    func database() throws -> any Database {
        guard let db = databases.database(.sqliteWriter, logger: logger, on: eventLoop) else { throw GateWriterError.shutDown }
        return db
    }

    /// Closes the connection, then stops the thread.
    func shutdown() async {
        await databases.shutdownAsync()
        try? await threads.shutdownGracefully()
    }

    /// Ties the writer's shutdown to the application's.
    struct Shutdown: LifecycleHandler {
        let writer: SQLiteWriter
        func shutdownAsync(_ application: Application) async { await writer.shutdown() }
    }
}

/// A task executor whose jobs run on a thread pool (the SQLite writer's single thread): the
/// code between two statements of a write transaction runs where the statements run.
final class ThreadPoolExecutor: TaskExecutor {
    private let threads: NIOThreadPool

    init(_ threads: NIOThreadPool) {
        self.threads = threads
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // A pool that has stopped hands the item back at once (`.cancelled`): the job still
        // runs, here, for a task must never be dropped.
        threads.submit { _ in job.runSynchronously(on: executor) }
    }
}
