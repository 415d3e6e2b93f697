import NIOPosix
import Vapor

/// Hashes and checks passwords. Injected so tests can use a low cost; bcrypt runs on the
/// thread pool, never on an event loop.
public protocol PasswordHasher: Sendable {
    /// A new salted hash of the password.
    func hash(_ password: String) async throws -> String
    /// Whether the password matches the stored hash.
    func verify(_ password: String, against hash: String) async throws -> Bool
}

/// bcrypt (Vapor's implementation) at a configurable cost (default 12).
public struct BcryptPasswordHasher: PasswordHasher {
    let cost: Int
    let threadPool: NIOThreadPool

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

    /// A valid hash of a random password: checked against when the login is unknown, so that
    /// answering takes as long as for a real account.
    static let decoy = "$2b$12$C6UzMDM.H6dfI/f/IKxGhuQF1x7S6cO8o8tWEXf3l2XeP6T7BnJ0W"
}
