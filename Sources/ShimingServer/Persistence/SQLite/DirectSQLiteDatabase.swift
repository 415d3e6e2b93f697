import FluentKit
import FluentSQL
import Logging
import NIOCore
import SQLiteKit
import SQLiteNIO
import SQLKit
import VaporCSQLite

/// Fluent's and SQLKit's view of an `SQLiteHandle` (the write gate's connection) or of an
/// `SQLiteHandlePool` (everything else): statements run on the calling thread; a transaction
/// (or `withConnection`) keeps one connection of the pool for itself until it ends. Values are
/// encoded and decoded exactly as SQLiteKit does (`SQLiteValues`), so rows read and written
/// here are the rows the rest of the application reads and writes through Fluent's SQLite driver.
struct DirectSQLiteDatabase: Database, SQLDatabase, InPlaceTransactions {
    enum Source: Sendable {
        case handle(SQLiteHandle)
        case pool(SQLiteHandlePool)
    }

    let source: Source
    let context: DatabaseContext
    let inTransaction: Bool

    // MARK: SQLDatabase

    var dialect: any SQLDialect { SQLiteDialect() }
    /// Statements are logged (their SQL, never the values) at trace level, as the driver does.
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        do {
            try run(query, onRow)
            return eventLoop.makeSucceededVoidFuture()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        try run(query, onRow)
    }

    private func run(_ query: any SQLExpression, _ onRow: (any SQLRow) -> Void) throws {
        let (sql, binds) = serializedAhead(query)
        for row in try self.query(sql, binds.map(SQLiteValues.data)) { onRow(row) }
    }

    // MARK: Database

    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        var converted = SQLQueryConverter(delegate: DirectSQLiteConverter()).convert(query)
        // A created row answers its id (Fluent reads it back), as with the SQLite driver; an
        // empty custom id key means a composite id, which answers nothing.
        if case .create = query.action, query.customIDKey != .some(.string("")) {
            converted = SQLKit.SQLList([converted, SQLReturning(SQLColumn((query.customIDKey ?? .id).description))], separator: SQLRaw(" "))
        }
        return execute(sql: converted) { onOutput(SQLRowOutput(row: $0, schema: nil)) }
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
        // SQLite alters a table only by adding columns (enum changes are no-ops here).
        let changes = schema.updateFields.filter { if case .dataType(_, .enum) = $0 { false } else { true } }
        if schema.action == .update, !(schema.createConstraints.isEmpty && changes.isEmpty && schema.deleteConstraints.isEmpty) {
            return eventLoop.makeFailedFuture(DirectSQLiteError(code: SQLITE_MISUSE, message: "SQLite only adds columns to a table"))
        }
        var schema = schema
        schema.updateFields = changes
        if schema.action == .update, schema.createFields.isEmpty, schema.deleteFields.isEmpty { return eventLoop.makeSucceededVoidFuture() }
        return execute(sql: SQLSchemaConverter(delegate: DirectSQLiteConverter()).convert(schema)) { _ in }
    }

    func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> {
        eventLoop.makeSucceededVoidFuture()
    }

    /// How a transaction begins. The write gate's connection (`.handle`) takes the write lock
    /// at once: a transaction that read first and then wrote while another connection held the
    /// lock would fail (SQLite returns "database is locked" without waiting when a reading
    /// transaction wants to write), and with it the whole group. Taken at `BEGIN`, the lock is
    /// waited for. Transactions of the pool (reads, and the gate's exclusive work) begin as usual.
    private var begin: String {
        switch source {
        case .handle: "BEGIN IMMEDIATE TRANSACTION"
        case .pool: "BEGIN TRANSACTION"
        }
    }

    func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard !inTransaction else { return closure(self) }
        return pinned { database in
            let transaction = DirectSQLiteDatabase(source: database.source, context: context, inTransaction: true)
            do {
                try transaction.run(SQLRaw(begin), { _ in })
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
            // A failed body, or a failed commit (the transaction is still open then), rolls back.
            return closure(transaction)
                .flatMapThrowing { value in
                    try transaction.run(SQLRaw("COMMIT TRANSACTION"), { _ in })
                    return value
                }
                .flatMapErrorThrowing { error in
                    try? transaction.run(SQLRaw("ROLLBACK TRANSACTION"), { _ in })
                    throw error
                }
        }
    }

    func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        pinned(closure)
    }

    /// `transaction`, in the calling task (`InPlaceTransactions`).
    func inPlaceTransaction<T: Sendable>(_ body: (any Database) async throws -> T) async throws -> T {
        guard !inTransaction else { return try await body(self) }
        let begin = begin  // the pool's begins as usual, even on the handle it lends
        return try await onOneConnection { database in
            let transaction = DirectSQLiteDatabase(source: database.source, context: context, inTransaction: true)
            try transaction.run(SQLRaw(begin), { _ in })
            do {
                let value = try await body(transaction)
                try transaction.run(SQLRaw("COMMIT TRANSACTION"), { _ in })
                return value
            } catch {
                try? transaction.run(SQLRaw("ROLLBACK TRANSACTION"), { _ in })
                throw error
            }
        }
    }

    /// `body` on one connection throughout: this one's, or one taken from the pool until the
    /// future `body` answers completes.
    private func pinned<T>(_ body: (DirectSQLiteDatabase) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard case .pool(let pool) = source else { return body(self) }
        let handle: SQLiteHandle
        do {
            handle = try pool.take()
        } catch {
            return eventLoop.makeFailedFuture(error)
        }
        return body(DirectSQLiteDatabase(source: .handle(handle), context: context, inTransaction: inTransaction))
            .always { _ in pool.give(handle) }
    }

    /// `body` with this database on one connection throughout (work of several statements that
    /// changes the connection's own settings for a while).
    func onOneConnection<T>(_ body: (DirectSQLiteDatabase) async throws -> T) async throws -> T {
        guard case .pool(let pool) = source else { return try await body(self) }
        let handle = try pool.take()
        defer { pool.give(handle) }
        return try await body(DirectSQLiteDatabase(source: .handle(handle), context: context, inTransaction: inTransaction))
    }

    /// Runs one statement given as SQL and SQLite values (for bulk writes that build their
    /// own), answering its rows.
    func query(_ sql: String, _ binds: [SQLiteData] = []) throws -> [DirectSQLiteRow] {
        if logger.logLevel <= .trace { logger.trace("Executing query", metadata: ["sql": .string(sql)]) }
        let result = switch source {
        case .handle(let handle): try handle.query(sql, binds)
        case .pool(let pool): try pool.with { try $0.query(sql, binds) }
        }
        return result.rows.map { DirectSQLiteRow(columns: result.columns, values: $0) }
    }
}

/// The configuration a `DirectSQLiteDatabase` names in its context: its driver vends databases
/// on the source, and closes it at shutdown.
struct DirectSQLiteConfiguration: DatabaseConfiguration {
    let source: DirectSQLiteDatabase.Source
    var middleware: [any AnyModelMiddleware] = []

    func makeDriver(for databases: Databases) -> any DatabaseDriver { Driver(source: source) }

    private struct Driver: DatabaseDriver {
        let source: DirectSQLiteDatabase.Source
        func makeDatabase(with context: DatabaseContext) -> any Database {
            DirectSQLiteDatabase(source: source, context: context, inTransaction: false)
        }
        func shutdown() {
            switch source {
            case .handle(let handle): handle.close()
            case .pool(let pool): pool.close()
            }
        }
    }
}

/// How Fluent's schema types are spelled in SQLite (as the SQLite driver spells them).
private struct DirectSQLiteConverter: SQLConverterDelegate {
    func customDataType(_ dataType: DatabaseSchema.DataType) -> (any SQLExpression)? {
        switch dataType {
        case .string, .enum: SQLRaw("TEXT")
        case .datetime: SQLRaw("REAL")
        case .int64: SQLRaw("INTEGER")
        default: nil
        }
    }
}

/// A row of an `SQLiteHandle`'s answer.
struct DirectSQLiteRow: SQLRow {
    let columns: SQLiteColumnNames
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.offset(of: column) != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let offset = columns.offset(of: column) else { return true }
        return values[offset] == .null
    }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        guard let offset = columns.offset(of: column) else { throw MissingSQLiteColumn(column: column) }
        return try SQLiteValues.value(D.self, from: values[offset])
    }
}

struct MissingSQLiteColumn: Error {
    let column: String
}

/// An SQL row as Fluent reads a model from it (columns prefixed with the schema when it asks).
private struct SQLRowOutput: DatabaseOutput {
    let row: any SQLRow
    let schema: String?

    var description: String { String(describing: row) }

    private func column(_ key: FieldKey) -> String {
        (schema.map { FieldKey.prefix(.prefix(.string($0), "_"), key) } ?? key).description
    }

    func schema(_ schema: String) -> any DatabaseOutput { SQLRowOutput(row: row, schema: schema) }
    func contains(_ key: FieldKey) -> Bool { row.contains(column: column(key)) }
    func decodeNil(_ key: FieldKey) throws -> Bool { try row.decodeNil(column: column(key)) }
    func decode<T: Decodable>(_ key: FieldKey, as type: T.Type) throws -> T { try row.decode(column: column(key), as: T.self) }
}

extension DirectSQLiteError: DatabaseError {
    var isSyntaxError: Bool { primary == SQLITE_ERROR }
    var isConnectionClosed: Bool { primary == SQLITE_MISUSE || primary == SQLITE_CANTOPEN }
    var isConstraintFailure: Bool { primary == SQLITE_CONSTRAINT }
}
