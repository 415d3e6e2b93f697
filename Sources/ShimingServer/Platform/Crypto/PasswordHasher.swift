import NIOConcurrencyHelpers
import NIOPosix
import ShimingCore
import Vapor

/// Hashes and checks passwords. Injected so tests can use a low cost; bcrypt runs on the
/// thread pool, never on an event loop.
public protocol PasswordHasher: Sendable {
    /// A new salted hash of the password.
    func hash(_ password: String) async throws -> String
    /// Whether the password matches the stored hash.
    func verify(_ password: String, against hash: String) async throws -> Bool
    /// A hash of a random password at this hasher's cost: checked against when the login is
    /// unknown, so that answering takes as long as for a real account.
    func decoy() async throws -> String
}

/// bcrypt (Vapor's implementation) at a configurable cost (default 12).
public struct BcryptPasswordHasher: PasswordHasher {
    let cost: Int
    let threadPool: NIOThreadPool
    /// Made on first use, at the configured cost (a decoy at another cost would answer faster
    /// or slower than a real account and tell which logins exist).
    private let decoyHash = NIOLockedValueBox<String?>(nil)

    /// Creates a hasher with the given cost, running on the given pool.
    public init(cost: Int, threadPool: NIOThreadPool) {
        self.cost = cost
        self.threadPool = threadPool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await threadPool.runIfActive { try Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await threadPool.runIfActive { try Bcrypt.verify(password, created: hash) }
    }

    public func decoy() async throws -> String {
        if let made = decoyHash.withLockedValue({ $0 }) { return made }
        let made = try await hash(OpaqueToken.make(SystemRandom()))
        decoyHash.withLockedValue { $0 = made }
        return made
    }
}

extension NIOThreadPool {
    /// A pool of its own for one kind of blocking work, started now and stopped with the application.
    static func started(threads: Int, app: Application) -> NIOThreadPool {
        let pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        app.lifecycle.use(Shutdown(pool: pool))
        return pool
    }

    private struct Shutdown: LifecycleHandler {
        let pool: NIOThreadPool
        func shutdownAsync(_ application: Application) async { try? await pool.shutdownGracefully() }
    }
}
