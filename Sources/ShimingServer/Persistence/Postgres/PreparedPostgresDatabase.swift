import FluentKit
import FluentPostgresDriver
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit

/// Fluent's PostgreSQL database with the stores' statements kept prepared on each connection.
///
/// Fluent's driver sends every statement unnamed: the server parses and plans it again each
/// time. For the case read (one statement with two JSON aggregates) that was three quarters of
/// the server's work: `pgbench` ran it 6,200 times a second unnamed and 23,600 times prepared.
/// Here a statement given as SQL (everything the stores run through SQLKit) is prepared once
/// per connection under a name of its own and then only bound and executed, still in one
/// round trip. Fluent's model queries, schema changes and transactions go to the driver as
/// before; a transaction's connection is wrapped again, so its statements are kept too.
///
/// What is kept, and what is not:
/// - one name per statement text and bind types (`PreparedStatementNames`), the same on every
///   connection of this process; the server keeps each for the connection's life. A batch's
///   read gets a new name each time this process's writes double (`PlannedAsDataGrows`), so
///   that it is planned afresh for tables that grew;
/// - statements with more than `PreparedStatementNames.largestBinds` values (bulk inserts, long
///   `IN` lists) run unnamed, as do statements with a value PostgresNIO cannot bind directly
///   (Fluent then encodes it through `Encodable`), and every statement once the process has
///   named `PreparedStatementNames.capacity` of them;
/// - a statement the server may have refused to prepare (a transaction already failed, a
///   changed table) gets a new name for its next run: PostgresNIO remembers a failed
///   preparation on the connection and would answer every later run of the name with it.
///
/// PostgresNIO prepares only statements whose text is a type's static property
/// (`PostgresPreparedStatement`); `KeptStatement` reads its name and text from a task-local
/// value set around the one call that reads them.
struct PreparedPostgresDatabase: Database, SQLDatabase {
    /// The driver's database: the pool, or one connection in a transaction.
    let base: any Database & SQLDatabase & PostgresDatabase
    let names: PreparedStatementNames
    /// In a transaction: its writes queued for its next statement (`DeferredWrites`).
    var deferred: DeferredWrites? = nil

    // MARK: Database

    var context: DatabaseContext { base.context }
    var inTransaction: Bool { base.inTransaction }

    // Fluent's own statements run after the writes queued before them.

    func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void) -> EventLoopFuture<Void> {
        afterQueued { base.execute(query: query, onOutput: onOutput) }
    }

    func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
        afterQueued { base.execute(schema: schema) }
    }

    func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> {
        afterQueued { base.execute(enum: `enum`) }
    }

    /// The transaction's statements are kept too, and its writes may wait for the next one
    /// (`runDeferred`); those still queued are sent before it commits.
    func transaction<T: Sendable>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        base.transaction { [names] database in
            guard let base = database as? any Database & SQLDatabase & PostgresDatabase else { return closure(database) }
            let transaction = PreparedPostgresDatabase(base: base, names: names, deferred: DeferredWrites())
            return closure(transaction).flatMap { value in
                transaction.eventLoop.makeFutureWithTask {
                    try await transaction.flushDeferred()
                    return value
                }
            }
        }
    }

    /// The connection's statements are kept too (in a transaction, after its queued writes).
    func withConnection<T: Sendable>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        afterQueued {
            base.withConnection { [names, deferred] database in
                guard let base = database as? any Database & SQLDatabase & PostgresDatabase else { return closure(database) }
                return closure(PreparedPostgresDatabase(base: base, names: names, deferred: deferred))
            }
        }
    }

    /// `next` once the queued writes are sent (at once when none are queued).
    private func afterQueued<T: Sendable>(_ next: @escaping @Sendable () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        guard let deferred, case let writes = deferred.take(), !writes.isEmpty else { return next() }
        return eventLoop.makeFutureWithTask { try await send(writes) }.flatMap { next() }
    }

    // MARK: SQLDatabase

    var dialect: any SQLDialect { base.dialect }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    /// Statements are logged (their SQL, never the values) at trace level.
    var queryLogLevel: Logger.Level? { .trace }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) -> EventLoopFuture<Void> {
        eventLoop.makeFutureWithTask { try await self.execute(sql: query, onRow) }
    }

    /// Runs `query`, carrying the writes queued before it when it may (`DeferredWrites`), else
    /// after sending them.
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        guard let deferred, case let writes = deferred.take(), !writes.isEmpty else { return try await run(query, onRow) }
        // Serialised once: read for the rules, then sent as it is, or behind the writes.
        let statement = serializedAhead(query)
        if DeferredWrites.mayCarry(writes, sql: statement.sql) {
            try await run(SQLCarriedWrites.carried(writes, before: statement, on: self), onRow)
        } else {
            try await send(writes)
            try await run(SQLSerialized(sql: statement.sql, binds: statement.binds), growth: (query as? PlannedAsDataGrows)?.growth ?? 0, onRow)
        }
    }

    /// Queues `write` for the transaction's next statement (`DeferredWrites.queue`).
    func queue(_ write: any SQLExpression) async throws {
        guard let deferred else { return try await run(write) { _ in } }
        let (accepted, first) = deferred.queue(write, sql: serializedAhead(write).sql)
        try await send(first)
        if !accepted { try await run(write) { _ in } }
    }

    /// Sends the writes queued so far, alone.
    func flushDeferred() async throws {
        guard let deferred else { return }
        try await send(deferred.take())
    }

    private func send(_ writes: [DeferredWrites.Write]) async throws {
        switch writes.count {
        case 0: return
        case 1: try await run(writes[0].query) { _ in }
        default: try await run(SQLCarriedWrites(writes: writes)) { _ in }
        }
    }

    /// Runs `query` as it is: kept prepared when it can be, else through the driver.
    private func run(_ query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = serializedAhead(query)
        try await run(SQLSerialized(sql: sql, binds: binds), growth: (query as? PlannedAsDataGrows)?.growth ?? 0, onRow)
    }

    /// `run` for a statement serialised already; `growth`, its `PlannedAsDataGrows` step.
    private func run(_ query: SQLSerialized, growth: Int = 0, _ onRow: @escaping @Sendable (any SQLRow) -> Void) async throws {
        let (sql, binds) = (query.sql, query.binds)
        guard let bindings = KeptBindings(binds) else {
            // Unnamed, through the driver (which logs the statement itself).
            return try await base.execute(sql: query, onRow)
        }
        // Kept prepared under a name of its own, unless every name is taken: then unnamed.
        // Either way on the connection itself, its rows read as `KeptRow`s (the driver's rows
        // read every value through a conformance lookup and a coding path: a batch's case reads
        // spent a tenth of the request loops there).
        let name = names.name(for: sql, types: bindings.types, growth: growth)
        if logger.logLevel <= .trace { logger.trace("Executing query", metadata: ["sql": .string(sql), "statement": .string(name ?? "unnamed")]) }
        do {
            try await onConnection { connection in
                if let name {
                    let rows = try await KeptStatement.$current.withValue(.init(name: name, sql: sql)) {
                        try await connection.execute(KeptStatement(bindings: bindings.values), logger: logger)
                    }
                    var columns: KeptRow.Columns?
                    for try await row in rows { onRow(KeptRow(row, columns: &columns)) }
                } else {
                    let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings.values), logger: logger)
                    var columns: KeptRow.Columns?
                    for try await row in rows { onRow(KeptRow(row, columns: &columns)) }
                }
            }
        } catch let error as PSQLError {
            if let name, PreparedStatementNames.refusedPreparing(error) { names.retire(name) }
            throw error
        }
    }

    func withSession<R: Sendable>(_ closure: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await flushDeferred()
        return try await base.withSession(closure)
    }

    /// `body` with one connection of the driver's, held (from the pool, or the transaction's
    /// own) until `body` ends, without a task of its own (`holding`).
    private func onConnection(_ body: (PostgresConnection) async throws -> Void) async throws {
        try await holding({ base.withConnection($0) }, body)
    }

    /// `body` with what `lease` hands over (a connection, or a database on one connection of the
    /// pool), held until `body` ends, without a task of its own: it is handed over through a
    /// promise, and given back when a second one is completed.
    func holding<Held: Sendable, Value>(_ lease: (@escaping @Sendable (Held) -> EventLoopFuture<Void>) -> EventLoopFuture<Void>,
                                        _ body: (Held) async throws -> Value) async throws -> Value {
        let handedOver = eventLoop.makePromise(of: Held.self)
        let done = eventLoop.makePromise(of: Void.self)
        defer { done.succeed(()) }
        lease { held in
            handedOver.succeed(held)
            return done.futureResult
        }.whenFailure { handedOver.fail($0) }
        return try await body(try await handedOver.futureResult.get())
    }
}

/// The driver's values as PostgresNIO binds them directly (its `PostgresEncodable` types and
/// nil), and their types, which are part of a statement's name: a statement prepared with a
/// value's type reads the next value as that type.
private struct KeptBindings {
    var values = PostgresBindings()
    var types: [PostgresDataType] = []

    /// Nil when there are too many values to keep the statement for, or a value needs Fluent's
    /// `Encodable` path.
    init?(_ binds: [any Encodable & Sendable]) {
        guard binds.count <= PreparedStatementNames.largestBinds else { return nil }
        values = PostgresBindings(capacity: binds.count)
        types.reserveCapacity(binds.count)
        for bind in binds {
            // The common types by their type first (`ColumnType`), then by a cast (not a
            // conformance lookup): a cast that fails is the runtime's slow path (`SQLiteValues.data`).
            switch ColumnType.of(type(of: bind)) {
            case .string: append(bind as! String); continue
            case .uuid: append(bind as! UUID); continue
            case .date: append(bind as! Date); continue
            case .int: append(bind as! Int); continue
            default: break
            }
            switch bind {
            case let text as String: append(text)
            case let id as UUID: append(id)
            case let date as Date: append(date)
            case let number as Int: append(number)
            case let flag as Bool: append(flag)
            case let texts as NullableTexts: append(texts)
            default: guard appendArray(bind) || appendOther(bind) else { return nil }
            }
        }
    }

    private mutating func append<Value: PostgresNonThrowingEncodable>(_ value: Value) {
        values.append(value)
        types.append(Value.psqlType)
    }

    /// Arrays of the common types (a batch's values, one array per column); false for other
    /// values. Encoded through the existential (`appendOther`), they were 7 % of the writer's
    /// work under the verification query's load. Matched by their exact type: a cast alone
    /// takes an empty array for an array of any element type (it casts element by element).
    private mutating func appendArray(_ bind: any Encodable & Sendable) -> Bool {
        switch ObjectIdentifier(type(of: bind)) {
        case ObjectIdentifier([UUID].self): guard let ids = bind as? [UUID] else { return false }; append(ids)
        case ObjectIdentifier([String].self): guard let texts = bind as? [String] else { return false }; append(texts)
        case ObjectIdentifier([Date].self): guard let dates = bind as? [Date] else { return false }; append(dates)
        case ObjectIdentifier([Int].self): guard let numbers = bind as? [Int] else { return false }; append(numbers)
        case ObjectIdentifier([Int64].self): guard let numbers = bind as? [Int64] else { return false }; append(numbers)
        default: return false
        }
        return true
    }

    /// Nil and the other values PostgresNIO encodes; false for those it does not.
    private mutating func appendOther(_ bind: any Encodable & Sendable) -> Bool {
        if (bind as? any NilTestable)?.isNil == true {
            values.appendNull()
            types.append(.null)
        } else if let value = bind as? any PostgresThrowingDynamicTypeEncodable {
            guard (try? values.append(value, context: .default)) != nil else { return false }
            types.append(value.psqlType)
        } else {
            return false
        }
        return true
    }
}

/// An optional seen through an existential (a bind that is nil is an `Optional` in one).
private protocol NilTestable {
    var isNil: Bool { get }
}

extension Optional: NilTestable {
    fileprivate var isNil: Bool { self == nil }
}

/// The statement PostgresNIO prepares and runs: its name and text are read, in the one call
/// that runs it, from the task-local value set around that call.
private struct KeptStatement: PostgresPreparedStatement {
    struct Current: Sendable {
        let name: String
        let sql: String
    }

    @TaskLocal static var current = Current(name: "", sql: "")

    static var name: String { current.name }
    static var sql: String { current.sql }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// The names this process gives the statements it keeps prepared, one for each statement
/// text and its bind types: the same name on every connection.
final class PreparedStatementNames: Sendable {
    /// At most this many statements are named (then statements run unnamed): the server keeps
    /// every named statement for its connection's life.
    static let capacity = 1_000
    /// Statements with more values than this run unnamed (bulk inserts, long `IN` lists: each
    /// length would be a statement of its own). A submission's carried writes and its look-up
    /// allowances are single statements of more than 64 values: unnamed, PostgreSQL parsed and
    /// planned them at every submission, on the one writer's path (with 64 here, submit ran at
    /// 521 / 553 req/s; with 400, 637 / 625; with 256, 676).
    static let largestBinds = 256

    private struct Key: Hashable {
        let sql: String
        let types: [PostgresDataType]
        /// `PlannedAsDataGrows.growth` (0 for every other statement).
        let growth: Int
    }

    private struct State {
        var names: [Key: String] = [:]
        var issued = 0
    }

    private let state = NIOLockedValueBox(State())

    /// The name of the statement `sql` with values of `types` (a new one at each `growth` step:
    /// `PlannedAsDataGrows`); nil once `capacity` are named.
    func name(for sql: String, types: [PostgresDataType], growth: Int = 0) -> String? {
        let key = Key(sql: sql, types: types, growth: growth)
        return state.withLockedValue { state in
            if let name = state.names[key] { return name }
            guard state.names.count < Self.capacity else { return nil }
            state.issued += 1
            let name = "shiming_\(state.issued)"
            state.names[key] = name
            return name
        }
    }

    /// Forgets `name`: its statement gets a new one at its next run.
    func retire(_ name: String) {
        state.withLockedValue { state in
            if let key = state.names.first(where: { $0.value == name })?.key { state.names[key] = nil }
        }
    }

    /// Whether the server may have refused to prepare the statement, rather than to run it.
    /// PostgreSQL answers both with an error and nothing tells them apart, so every error
    /// counts but those a statement meets running with its values: bad data (class 22), a
    /// broken rule (23), a rolled-back transaction (40), a lock not available (55), a raised
    /// exception (P0, or Shiming's own, SH: an outcome not as expected). A preparation that
    /// failed for a passing reason (a transaction already failed, 25; a changed table, 0A; a
    /// cancelled statement, 57) must not stay remembered.
    static func refusedPreparing(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return false }
        return !["22", "23", "40", "55", "P0", "SH"].contains(String(state.prefix(2)))
    }
}

/// The configuration of `PreparedPostgresDatabase`: the driver's, its databases wrapped.
struct PreparedPostgresConfiguration: DatabaseConfiguration {
    let base: any DatabaseConfiguration
    let names = PreparedStatementNames()
    var middleware: [any AnyModelMiddleware] = []

    /// Fluent's PostgreSQL driver on `url` (a pool of `connectionsPerLoop` per event loop,
    /// waited for at most `poolTimeout` seconds; statements logged at trace level), wrapped.
    init(url: String, connectionsPerLoop: Int, poolTimeout: Int) throws {
        base = try DatabaseConfigurationFactory.postgres(url: url, maxConnectionsPerEventLoop: connectionsPerLoop,
                                                         connectionPoolTimeout: .seconds(Int64(poolTimeout)), sqlLogLevel: .trace).make()
    }

    func makeDriver(for databases: Databases) -> any DatabaseDriver {
        Driver(base: base.makeDriver(for: databases), names: names)
    }

    private struct Driver: DatabaseDriver {
        let base: any DatabaseDriver
        let names: PreparedStatementNames

        func makeDatabase(with context: DatabaseContext) -> any Database {
            let database = base.makeDatabase(with: context)
            guard let postgres = database as? any Database & SQLDatabase & PostgresDatabase else { return database }
            return PreparedPostgresDatabase(base: postgres, names: names)
        }

        func shutdown() { base.shutdown() }
        func shutdownAsync() async { await base.shutdownAsync() }
    }
}
