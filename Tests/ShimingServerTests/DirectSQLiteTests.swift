import FluentKit
import FluentSQLiteDriver
import Foundation
import Logging
import NIOPosix
import SQLKit
import Testing
@testable import ShimingServer

/// The SQLite connections that run statements on their callers' threads (`DirectSQLiteDatabase`)
/// against Fluent's SQLite driver on the same file: the rows one writes are the rows the other
/// reads, transactions hold one connection, errors keep their kind.
@Suite("SQLite statements on the caller's thread, kept prepared")
struct DirectSQLiteTests {
    /// One file, seen through both: `direct` (a pool of direct connections) and `driver`
    /// (SQLiteNIO's, as Fluent's SQLite driver opens it).
    private struct Pair {
        let direct: DirectSQLiteDatabase
        let driver: any Database
        let pool: SQLiteHandlePool
    }

    private func withPair(_ body: (Pair) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("direct-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let databases = Databases(threadPool: NIOThreadPool.singleton, on: MultiThreadedEventLoopGroup.singleton)
        databases.use(.sqlite(.file(path)), as: .sqlite)
        let pool = SQLiteHandlePool(path: path)
        let logger = Logger(label: "direct-sqlite-tests")
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let direct = DirectSQLiteDatabase(source: .pool(pool),
                                          context: DatabaseContext(configuration: DirectSQLiteConfiguration(source: .pool(pool)), logger: logger, eventLoop: loop),
                                          inTransaction: false)
        let driver = try #require(databases.database(.sqlite, logger: logger, on: loop))
        do {
            try await direct.raw("PRAGMA journal_mode=WAL").run()
            try await body(Pair(direct: direct, driver: driver, pool: pool))
        } catch {
            pool.close()
            await databases.shutdownAsync()
            throw error
        }
        pool.close()
        await databases.shutdownAsync()
    }

    private struct Values: Equatable, Codable {
        var id: UUID
        var at: Date
        var flag: Bool
        var text: String
        var bytes: Data
        var missing: Int?
        var ratio: Double
        var big: Int64
    }

    private static let table = "CREATE TABLE t (id BLOB PRIMARY KEY, at REAL, flag INTEGER, text TEXT, bytes BLOB, missing INTEGER, ratio REAL, big INTEGER)"

    private func insert(_ value: Values, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO t (id, at, flag, text, bytes, missing, ratio, big) VALUES (\(bind: value.id), \(bind: value.at), \(bind: value.flag),
            \(bind: value.text), \(bind: value.bytes), \(bind: value.missing), \(bind: value.ratio), \(bind: value.big))
            """).run()
    }

    private func read(_ id: UUID, on db: any SQLDatabase) async throws -> Values? {
        try await db.raw("SELECT id, at, flag, text, bytes, missing, ratio, big FROM t WHERE id = \(bind: id)").first().map {
            Values(id: try $0.decode(column: "id", as: UUID.self), at: try $0.decode(column: "at", as: Date.self),
                   flag: try $0.decode(column: "flag", as: Bool.self), text: try $0.decode(column: "text", as: String.self),
                   bytes: try $0.decode(column: "bytes", as: Data.self), missing: try $0.decode(column: "missing", as: Int?.self),
                   ratio: try $0.decode(column: "ratio", as: Double.self), big: try $0.decode(column: "big", as: Int64.self))
        }
    }

    @Test("what one writes the other reads unchanged, both ways: identifiers, timestamps with microseconds, booleans, Chinese text, bytes, nulls, numbers")
    func sameRowsBothWays() async throws {
        try await withPair { pair in
            let driver = try pair.driver.sql()
            try await pair.direct.raw(SQLQueryString(Self.table)).run()
            let first = Values(id: UUID(), at: Date(timeIntervalSince1970: 1_796_244_592.541_14), flag: true, text: "陈桂芳 北京市西城区",
                               bytes: Data([0, 1, 2, 255, 0]), missing: nil, ratio: 0.1 + 0.2, big: Int64.max)
            let second = Values(id: UUID(), at: Date(timeIntervalSince1970: 946_684_800.000_001), flag: false, text: "",
                                bytes: Data(), missing: 7, ratio: -1.5e-300, big: Int64.min)
            try await insert(first, on: pair.direct)
            try await insert(second, on: driver)
            for value in [first, second] {
                let viaDirect = try #require(try await read(value.id, on: pair.direct))
                let viaDriver = try #require(try await read(value.id, on: driver))
                #expect(viaDirect == viaDriver)
                #expect(viaDirect.id == value.id && viaDirect.text == value.text && viaDirect.bytes == value.bytes)
                #expect(viaDirect.missing == value.missing && viaDirect.big == value.big && viaDirect.flag == value.flag)
            }
            // Several rows, in order, and a statement that answers none.
            let ids = try await pair.direct.raw("SELECT id FROM t ORDER BY big").all().map { try $0.decode(column: "id", as: UUID.self) }
            #expect(ids == [second.id, first.id])
            #expect(try await pair.direct.raw("SELECT id FROM t WHERE big = 0").all().isEmpty)
        }
    }

    @Test("a transaction keeps one connection: others do not see its writes before the commit, and a failed one leaves nothing")
    func transactions() async throws {
        try await withPair { pair in
            try await pair.direct.raw("CREATE TABLE n (v INTEGER PRIMARY KEY)").run()
            let direct = pair.direct
            try await direct.transaction { tx in
                try await tx.sql().raw("INSERT INTO n (v) VALUES (1)").run()
                #expect(try await tx.sql().raw("SELECT v FROM n").all().count == 1)
                // Another connection of the pool still reads the state before the transaction.
                #expect(try await direct.raw("SELECT v FROM n").all().isEmpty)
            }
            #expect(try await direct.raw("SELECT v FROM n").all().count == 1)

            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await direct.transaction { tx in
                    try await tx.sql().raw("INSERT INTO n (v) VALUES (2)").run()
                    throw Refused()
                }
            }
            #expect(try await direct.raw("SELECT v FROM n").all().count == 1)
            // The connections went back to the pool: the next transaction commits as the first did.
            try await direct.transaction { tx in try await tx.sql().raw("INSERT INTO n (v) VALUES (3)").run() }
            #expect(try await pair.driver.sql().raw("SELECT v FROM n ORDER BY v").all().map { try $0.decode(column: "v", as: Int.self) } == [1, 3])
        }
    }

    @Test("the write gate's connection waits for a write lock another connection holds, also when its transaction reads before it writes")
    func writerWaitsForTheLock() async throws {
        try await withPair { pair in
            try await pair.direct.raw("CREATE TABLE n (v INTEGER PRIMARY KEY)").run()
            let handle = try SQLiteHandle(path: pair.pool.path)
            defer { handle.close() }
            let writer = DirectSQLiteDatabase(source: .handle(handle), context: pair.direct.context, inTransaction: false)
            // Another connection holds the write lock (the retention turn did, outside the gate).
            let other = try SQLiteHandle(path: pair.pool.path)
            defer { other.close() }
            _ = try other.query("BEGIN IMMEDIATE", [])
            _ = try other.query("INSERT INTO n (v) VALUES (1)", [])
            let transaction = Task {
                try await writer.transaction { tx in
                    _ = try await tx.sql().raw("SELECT COUNT(*) AS c FROM n").all()
                    try await tx.sql().raw("INSERT INTO n (v) VALUES (2)").run()
                }
            }
            try await Task.sleep(for: .milliseconds(50))
            _ = try other.query("COMMIT", [])
            // A transaction begun as a reader failed here with "database is locked".
            try await transaction.value
            #expect(try await pair.direct.raw("SELECT v FROM n ORDER BY v").all().map { try $0.decode(column: "v", as: Int.self) } == [1, 2])
        }
    }

    @Test("the write gate's commits leave the log's checkpoints to a checkpointer of its own, which copies the log into the file beside them")
    func checkpointsBesideTheWriter() async throws {
        try await withPair { pair in
            try await pair.direct.raw("CREATE TABLE big (v BLOB)").run()
            let checkpointer = try WALCheckpointer(path: pair.pool.path)
            let writer = try SQLiteHandle(path: pair.pool.path)
            defer { writer.close() }
            writer.reportingWALGrowth(to: checkpointer)
            // Past 1,000 pages of log, in commits of a page each.
            for _ in 0..<1_200 { _ = try writer.query("INSERT INTO big (v) VALUES (zeroblob(4000))", []) }
            checkpointer.close()  // waits for the one queued
            #expect(checkpointer.checkpoints >= 1)
            // What was committed is in the file itself now, not only in the log. How much depends
            // on when the checkpoints ran beside the commits, but each copied at least the
            // 1,000 pages of log that queued it, and a commit logs three pages (the row's leaf,
            // the tree's root, the file's first page): at least 333 rows of 4,000 bytes. Without
            // a checkpoint the file would still be the few pages of the table's creation.
            let size = try #require(try FileManager.default.attributesOfItem(atPath: pair.pool.path)[.size] as? Int)
            #expect(size > 333 * 4_000, "\(size)")
        }
    }

    @Test("errors keep their kind (a duplicate is a constraint failure, bad SQL a syntax error), and more statements than are kept prepared all answer right")
    func errorsAndKeptStatements() async throws {
        try await withPair { pair in
            let direct = pair.direct
            try await direct.raw("CREATE TABLE u (name TEXT PRIMARY KEY)").run()
            try await direct.raw("INSERT INTO u (name) VALUES (\(bind: "张三"))").run()
            do {
                try await direct.raw("INSERT INTO u (name) VALUES (\(bind: "张三"))").run()
                Issue.record("a duplicate was stored")
            } catch let error as any DatabaseError {
                #expect(error.isConstraintFailure && !error.isSyntaxError)
            }
            do {
                try await direct.raw("SELEC 1").run()
                Issue.record("bad SQL ran")
            } catch let error as any DatabaseError {
                #expect(error.isSyntaxError && !error.isConstraintFailure)
            }
            // After errors, the same statements run again with other values.
            try await direct.raw("INSERT INTO u (name) VALUES (\(bind: "李四"))").run()
            #expect(try await direct.raw("SELECT name FROM u").all().count == 2)

            // Twice as many distinct statements as are kept, then the first ones again.
            let count = SQLiteHandle.keptStatements * 2
            for round in 0..<2 {
                for number in 0..<count {
                    let row = try #require(try await direct.raw("SELECT \(unsafeRaw: String(number)) + \(bind: round) AS n").first())
                    #expect(try row.decode(column: "n", as: Int.self) == number + round)
                }
            }
            // A bulk insert with more values than a kept statement holds runs, and runs again
            // with other values (made anew each time).
            let many = SQLiteHandle.keptValues + 100
            for round in 0..<2 {
                let values = (0..<many).map { SQLiteData.text("bulk-\(round)-\($0)") }
                _ = try direct.query("INSERT INTO u (name) VALUES " + Array(repeating: "(?)", count: many).joined(separator: ", "), values)
            }
            #expect(try direct.query("SELECT COUNT(*) AS n FROM u WHERE name LIKE 'bulk-%'").first?.decode(column: "n", as: Int.self) == 2 * many)
            // A statement given fewer values than it has parameters is refused, not run with
            // the values of its last run.
            #expect(try direct.query("SELECT ?1 + ?2 AS n", [.integer(1), .integer(2)]).first?.decode(column: "n", as: Int.self) == 3)
            #expect(throws: (any Error).self) { try direct.query("SELECT ?1 + ?2 AS n", [.integer(1)]) }
            // A closed pool refuses statements with an error, not a crash.
            pair.pool.close()
            await #expect(throws: (any Error).self) { try await direct.raw("SELECT 1").run() }
        }
    }
}
