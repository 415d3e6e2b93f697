import Fluent
import FluentPostgresDriver
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Vapor

/// Where the write gate runs its transactions when it groups them: a connection of its own,
/// the thread its statements' work runs on, and what each group's transaction starts with.
protocol GateWriter: Sendable {
    /// The database the gate's transactions run on; after shutdown an error (a write racing
    /// the application's end is refused, not run).
    func database() throws -> any Database
    /// Where the transactions' bodies run (for `withTaskExecutorPreference`).
    var executor: any TaskExecutor { get }
    /// Statements each group's transaction starts with.
    var settings: [String] { get }
    /// Whether each group takes the audit chain's lock first of all (PostgreSQL), so that
    /// appending an event need not.
    var locksChain: Bool { get }
}

/// The PostgreSQL connection the write gate runs its transactions on, on an event loop of its
/// own that also runs the transactions' bodies.
///
/// Every state change appends to the audit chain, which on PostgreSQL is ordered by a lock
/// held until commit: writes were one at a time already, each holding the lock through its
/// last round trips and its flush to disk, and each round trip's answer queued behind the
/// requests its event loop was serving. Here the gate commits them in groups (one flush, one
/// lock for a group), and the group's statements and the code between them run on one loop
/// that serves nothing else.
final class PostgresWriter: GateWriter {
    private let loops: MultiThreadedEventLoopGroup
    private let databases: Databases
    private let logger: Logger
    private let loopExecutor: EventLoopExecutor
    var executor: any TaskExecutor { loopExecutor }
    var settings: [String] { [] }
    /// Each group takes the audit chain's lock first, before any row lock: two instances'
    /// groups then wait for each other whole, and cannot deadlock on rows one holds and the
    /// other wants while it waits for the chain.
    var locksChain: Bool { true }

    /// A writer on the database at `url`, one connection on a loop of its own.
    init(url: String, poolTimeout: Int, threadPool: NIOThreadPool, logger: Logger) throws {
        loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        databases = Databases(threadPool: threadPool, on: loops)
        loopExecutor = EventLoopExecutor(loops.next())
        self.logger = logger
        do {
            databases.use(try .postgres(url: url, maxConnectionsPerEventLoop: 1, connectionPoolTimeout: .seconds(Int64(poolTimeout)),
                                        sqlLogLevel: .trace), as: .postgresWriter, isDefault: false)
        } catch {
            try? loops.syncShutdownGracefully()
            throw error
        }
    }

    func database() throws -> any Database {
        guard let db = databases.database(.postgresWriter, logger: logger, on: loopExecutor.loop) else { throw GateWriterError.shutDown }
        return db
    }

    /// Closes the connection, then stops the loop (jobs that come later run elsewhere).
    func shutdown() async {
        await databases.shutdownAsync()
        loopExecutor.close()
        try? await loops.shutdownGracefully()
    }

    /// Ties the writer's shutdown to the application's.
    struct Shutdown: LifecycleHandler {
        let writer: PostgresWriter
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
    /// The connection the write gate runs PostgreSQL transactions on (in `PostgresWriter`'s
    /// own `Databases`).
    static let postgresWriter = DatabaseID(string: "postgres-writer")
}
