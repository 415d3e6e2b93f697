import Foundation
import NIOCore
import SQLiteNIO
import Synchronization
import VaporCSQLite

/// One SQLite connection that runs each statement on the calling thread and keeps the
/// statements it has run prepared for the next time.
///
/// SQLiteNIO prepares every statement anew and hands it to a thread pool, then hands each row
/// and the completion back to an event loop: for the write gate's short statements that was
/// most of their cost (preparing alone took 15 % of the writer's time). The writer runs one
/// transaction at a time and waits for each statement anyway, so here a statement simply runs
/// where its caller is, from a prepared statement when the same SQL ran before. The connection
/// is used by one caller at a time (the lock makes sure of it); it opens as SQLiteNIO opens
/// its connections: created if missing, extended result codes, waiting while the file is busy,
/// foreign keys on.
final class SQLiteHandle: Sendable {
    /// Prepared statements kept, at most; past it the least recently used one is finalised.
    static let keptStatements = 128
    /// A statement with more values than this (a bulk insert's) is made for its one run and
    /// not kept: it would hold its last values, and is rarely run again with as many rows.
    static let keptValues = 1_000

    private struct Prepared {
        let statement: OpaquePointer
        let columns: SQLiteColumnNames
        var lastUse: UInt64
    }

    private struct State {
        var connection: OpaquePointer?
        var prepared: [String: Prepared] = [:]
        var uses: UInt64 = 0
        var writes = 0
    }

    private let state: Mutex<State>

    init(path: String) throws {
        var connection: OpaquePointer?
        let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI | SQLITE_OPEN_EXRESCODE
        let opened = sqlite_nio_sqlite3_open_v2(path, &connection, flags, nil)
        guard opened == SQLITE_OK, let connection else {
            let message = connection.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open"
            sqlite_nio_sqlite3_close(connection)
            throw DirectSQLiteError(code: opened, message: message)
        }
        // Wait for as long as another connection holds the file (as SQLiteNIO did), but asleep:
        // retrying at once kept a thread spinning (a request loop, for a read) while the
        // writer's commit waited for the disk. A tenth of a millisecond at first, then one.
        sqlite_nio_sqlite3_busy_handler(connection, { _, tries in
            usleep(tries < 10 ? 100 : 1_000)
            return 1
        }, nil)
        state = Mutex(State(connection: connection))
        _ = try query("PRAGMA foreign_keys = ON", [])
    }

    deinit {
        close()
    }

    /// Runs one statement with its values bound in order, and answers its rows.
    func query(_ sql: String, _ binds: [SQLiteData]) throws -> (columns: SQLiteColumnNames, rows: [[SQLiteData]]) {
        try state.withLock { state in
            guard let connection = state.connection else { throw DirectSQLiteError(code: SQLITE_MISUSE, message: "connection closed") }
            state.uses += 1
            let prepared: Prepared
            var kept = true
            if let found = state.prepared[sql] {
                prepared = found
                state.prepared[sql]?.lastUse = state.uses
            } else {
                prepared = try Self.prepare(sql, on: connection, use: state.uses)
                kept = sqlite_nio_sqlite3_bind_parameter_count(prepared.statement) <= Self.keptValues
                if kept, state.prepared.count >= Self.keptStatements,
                   let oldest = state.prepared.min(by: { $0.value.lastUse < $1.value.lastUse }) {
                    sqlite_nio_sqlite3_finalize(oldest.value.statement)
                    state.prepared[oldest.key] = nil
                }
                if kept { state.prepared[sql] = prepared }
            }
            let statement = prepared.statement
            if sqlite_nio_sqlite3_stmt_readonly(statement) == 0 { state.writes += 1 }
            // Every run binds all of the statement's values anew. Bindings are not cleared in
            // between: SQLite re-prepares a statement whose plan looked at a bound value
            // (whether it is 0 or 1, say) whenever its bindings are cleared.
            defer {
                if kept { sqlite_nio_sqlite3_reset(statement) } else { sqlite_nio_sqlite3_finalize(statement) }
            }
            guard sqlite_nio_sqlite3_bind_parameter_count(statement) == binds.count else {
                throw DirectSQLiteError(code: SQLITE_RANGE, message: "\(binds.count) values for \(sqlite_nio_sqlite3_bind_parameter_count(statement)) parameters")
            }
            try Self.bind(binds, to: statement, on: connection)
            var rows: [[SQLiteData]] = []
            let count = Int32(prepared.columns.names.count)
            while true {
                let step = sqlite_nio_sqlite3_step(statement)
                if step == SQLITE_DONE { return (prepared.columns, rows) }
                guard step == SQLITE_ROW else { throw DirectSQLiteError(code: step, connection: connection) }
                rows.append(try (0..<count).map { try Self.value(at: $0, of: statement) })
            }
        }
    }

    /// From now on this connection's commits do not checkpoint the log themselves: each
    /// reports the log's length to `checkpointer`, which checkpoints elsewhere. (A later
    /// `PRAGMA wal_autocheckpoint` would undo this.) The checkpointer must outlive the connection.
    func reportingWALGrowth(to checkpointer: WALCheckpointer) {
        state.withLock { state in
            guard let connection = state.connection else { return }
            sqlite_nio_sqlite3_wal_hook(connection, { context, _, _, pages in
                guard let context else { return SQLITE_OK }
                Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().logGrew(to: pages)
                return SQLITE_OK
            }, Unmanaged.passUnretained(checkpointer).toOpaque())
        }
    }

    /// Copies into the file what of the log no reader still needs, without waiting for
    /// anyone (a passive checkpoint); busy when another checkpoint runs, which is no error.
    func checkpointPassively() {
        state.withLock { state in
            guard let connection = state.connection else { return }
            _ = sqlite_nio_sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
    }

    /// How many statements that may write (not read-only to SQLite) this connection ran: on
    /// the read pool, only the gate's exclusive work and migrations should (tests check it).
    var writeStatements: Int { state.withLock { $0.writes } }

    /// Finalises the kept statements and closes the connection; later statements fail.
    func close() {
        state.withLock { state in
            for prepared in state.prepared.values { sqlite_nio_sqlite3_finalize(prepared.statement) }
            state.prepared = [:]
            if let connection = state.connection { sqlite_nio_sqlite3_close_v2(connection) }
            state.connection = nil
        }
    }

    private static func prepare(_ sql: String, on connection: OpaquePointer, use: UInt64) throws -> Prepared {
        var statement: OpaquePointer?
        let prepared = sqlite_nio_sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard prepared == SQLITE_OK, let statement else { throw DirectSQLiteError(code: prepared, connection: connection) }
        let count = sqlite_nio_sqlite3_column_count(statement)
        let names = (0..<count).map { sqlite_nio_sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? "" }
        return Prepared(statement: statement, columns: SQLiteColumnNames(names), lastUse: use)
    }

    private static func bind(_ binds: [SQLiteData], to statement: OpaquePointer, on connection: OpaquePointer) throws {
        for (offset, value) in binds.enumerated() {
            let index = Int32(offset + 1)
            let bound: Int32 = switch value {
            case .integer(let value): sqlite_nio_sqlite3_bind_int64(statement, index, Int64(value))
            case .float(let value): sqlite_nio_sqlite3_bind_double(statement, index, value)
            case .text(let value): sqlite_nio_sqlite3_bind_text64(statement, index, value, UInt64(value.utf8.count), transient, UInt8(SQLITE_UTF8))
            case .blob(let value):
                value.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), transient) }
            case .null: sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard bound == SQLITE_OK else { throw DirectSQLiteError(code: bound, connection: connection) }
        }
    }

    private static func value(at column: Int32, of statement: OpaquePointer) throws -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(Int(sqlite_nio_sqlite3_column_int64(statement, column)))
        case SQLITE_FLOAT: return .float(sqlite_nio_sqlite3_column_double(statement, column))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(statement, column) else { return .text("") }
            return .text(String(cString: text))
        case SQLITE_BLOB:
            let count = Int(sqlite_nio_sqlite3_column_bytes(statement, column))
            var buffer = ByteBufferAllocator().buffer(capacity: count)
            if let bytes = sqlite_nio_sqlite3_column_blob(statement, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: count))
            }
            return .blob(buffer)
        default: return .null
        }
    }
}

/// SQLite copies a bound value before the bind call returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The column names of a statement's rows, shared by all its rows.
final class SQLiteColumnNames: Sendable {
    let names: [String]
    private let offsets: [String: Int]

    init(_ names: [String]) {
        self.names = names
        // The first of two columns of one name wins, as in SQLiteNIO.
        offsets = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func offset(of name: String) -> Int? { offsets[name] }
}

/// An error SQLite reported: its (extended) result code and message. Constraint failures are
/// told apart as Fluent's `DatabaseError` expects (a duplicate login name, for one).
struct DirectSQLiteError: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(code: Int32, connection: OpaquePointer) {
        self.init(code: code, message: sqlite_nio_sqlite3_errmsg(connection).map { String(cString: $0) } ?? "unknown")
    }

    /// The primary result code (the extended code's low byte).
    var primary: Int32 { code & 0xff }

    var description: String { "SQLite error \(code): \(message)" }
}

/// Connections to one SQLite file for statements that run outside the write gate (reads, and
/// the settings and checkpoints of the file). A statement takes a free connection, or opens
/// one when all are busy, and gives it back when it has run: statements run on their callers'
/// threads and never wait, so there are at most as many connections as threads that ran
/// statements at once (and transactions open at once), a handful.
final class SQLiteHandlePool: Sendable {
    private struct State {
        var free: [SQLiteHandle] = []
        var all: [SQLiteHandle] = []
        var closed = false
    }

    let path: String
    private let state = Mutex(State())

    init(path: String) {
        self.path = path
    }

    /// A connection for the caller alone until it gives it back.
    func take() throws -> SQLiteHandle {
        if let handle = state.withLock({ $0.free.popLast() }) { return handle }
        let handle = try SQLiteHandle(path: path)
        let closed = state.withLock { state in
            state.all.append(handle)
            return state.closed
        }
        if closed { handle.close() }
        return handle
    }

    func give(_ handle: SQLiteHandle) {
        state.withLock { if !$0.closed { $0.free.append(handle) } }
    }

    /// Runs `body` on a connection of the pool.
    func with<T>(_ body: (SQLiteHandle) throws -> T) throws -> T {
        let handle = try take()
        defer { give(handle) }
        return try body(handle)
    }

    /// Statements that may write, run on any connection of the pool so far.
    var writeStatements: Int { state.withLock { $0.all }.reduce(0) { $0 + $1.writeStatements } }

    /// Closes every connection; later statements fail.
    func close() {
        let all = state.withLock { state in
            state.closed = true
            state.free = []
            return state.all
        }
        for handle in all { handle.close() }
    }
}
