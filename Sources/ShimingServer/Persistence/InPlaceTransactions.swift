import FluentKit
import NIOCore
import PostgresKit
import SQLKit

/// A database that runs a transaction in the calling task: its `BEGIN`, its body and its
/// `COMMIT` (or `ROLLBACK`) follow each other there, with no task started in between.
///
/// Fluent's `transaction` runs its body in a task of its own (`makeFutureWithTask`), which starts
/// on the global executor: the application's request loops. Each of the write gate's groups
/// then waited, after its `BEGIN` and again before its `COMMIT`, for a turn behind the requests
/// those loops were serving, while the writer held the chain's lock and idled. Traced on the
/// writer's thread under the verification query's load on PostgreSQL, a group waited 2.5–5.5 ms
/// after its `BEGIN`, for a transaction whose statements took under 2 ms in all.
protocol InPlaceTransactions: Database {
    /// Runs `body` in a transaction on one connection, in the calling task.
    func inPlaceTransaction<T: Sendable>(_ body: (any Database) async throws -> T) async throws -> T
}

extension Database {
    /// Runs `body` in a transaction: in the calling task where the database can
    /// (`InPlaceTransactions`: the write gate's writers), else through Fluent's `transaction`.
    func transactionInPlace<T: Sendable>(_ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        if let database = self as? any InPlaceTransactions { return try await database.inPlaceTransaction(body) }
        return try await transaction(body)
    }
}

extension PreparedPostgresDatabase: InPlaceTransactions {
    /// `BEGIN`, `COMMIT` and `ROLLBACK` are kept prepared like the body's statements; the
    /// writes the body queued (`DeferredWrites`) are sent before the commit, and dropped before a
    /// rollback.
    func inPlaceTransaction<T: Sendable>(_ body: (any Database) async throws -> T) async throws -> T {
        guard !inTransaction else { return try await body(self) }
        // One connection of the pool's, held until the transaction ends (no task of its own).
        return try await holding({ base.withConnection($0) }) { (database: any Database) in
            guard let database = database as? any Database & SQLDatabase & PostgresDatabase else { throw InPlaceTransactionError.notPostgres }
            let transaction = PreparedPostgresDatabase(base: database, names: names, deferred: DeferredWrites())
            try await transaction.execute(sql: SQLRaw("BEGIN")) { _ in }
            do {
                let value = try await body(transaction)
                try await transaction.flushDeferred()
                try await transaction.execute(sql: SQLRaw("COMMIT")) { _ in }
                return value
            } catch {
                transaction.deferred?.discard()
                try await transaction.execute(sql: SQLRaw("ROLLBACK")) { _ in }
                throw error
            }
        }
    }
}

enum InPlaceTransactionError: Error {
    /// The driver handed over a connection that is not PostgreSQL's (cannot happen).
    case notPostgres
}
