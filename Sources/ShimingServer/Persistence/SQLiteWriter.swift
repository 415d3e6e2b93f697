import Fluent
import FluentSQLiteDriver
import NIOCore
import NIOPosix
import Vapor

/// The SQLite connection the write gate runs its transactions on, with a thread and an event
/// loop of its own.
///
/// A write transaction is a chain of statements, each awaited before the next. SQLiteNIO runs
/// a statement on its thread pool, then hands each row and the statement's completion to the
/// connection's event loop. On the application's loops, under load, each of those hand-offs
/// queued behind the requests that loop was serving: the writer, which every write waits for,
/// spent most of a transaction waiting for its turn on a busy loop. Here the connection has a
/// thread pool of one thread and an event loop of its own, and the transactions' bodies prefer
/// that loop (`executor`, as on PostgreSQL): a statement's completion and the code after it run
/// at once, on a loop that serves no requests.
final class SQLiteWriter: GateWriter {
    private let threads: NIOThreadPool
    private let loops: MultiThreadedEventLoopGroup
    private let databases: Databases
    private let logger: Logger
    private let loopExecutor: EventLoopExecutor
    /// Runs tasks on the writer's event loop (for `withTaskExecutorPreference`).
    var executor: any TaskExecutor { loopExecutor }
    /// The writer connection's settings, stated at the start of each group's transaction (a
    /// pool may open the connection anew). Its page cache holds 16 MiB instead of SQLite's
    /// 2 MiB: every write touches several tables' indexes at random places (ids are random),
    /// and under load about a tenth of the writer's time went to reading back pages it had evicted.
    var settings: [String] { ["PRAGMA cache_size = -16384"] }
    /// SQLite's one writer needs no lock of the chain's own.
    var locksChain: Bool { false }

    /// A writer on the SQLite file at `path`.
    init(path: String, logger: Logger) {
        threads = NIOThreadPool(numberOfThreads: 1)
        threads.start()
        loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        databases = Databases(threadPool: threads, on: loops)
        databases.use(.sqlite(.file(path), sqlLogLevel: .trace), as: .sqliteWriter, isDefault: false)
        loopExecutor = EventLoopExecutor(loops.next())
        self.logger = logger
    }

    func database() throws -> any Database {
        guard let db = databases.database(.sqliteWriter, logger: logger, on: loopExecutor.loop) else { throw GateWriterError.shutDown }
        return db
    }

    /// Closes the connection, then stops the thread and the loop.
    func shutdown() async {
        await databases.shutdownAsync()
        loopExecutor.close()
        try? await threads.shutdownGracefully()
        try? await loops.shutdownGracefully()
    }

    /// Ties the writer's shutdown to the application's.
    struct Shutdown: LifecycleHandler {
        let writer: SQLiteWriter
        func shutdownAsync(_ application: Application) async { await writer.shutdown() }
    }
}
