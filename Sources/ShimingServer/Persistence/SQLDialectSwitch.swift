import Fluent
import SQLKit

/// The two engines Shiming runs on, for the few places where SQL must differ.
enum SQLEngine: Sendable {
    case sqlite
    case postgres

    /// The engine behind a Fluent database.
    static func of(_ database: any Database) -> SQLEngine {
        // The app's own databases first: a cast to a concrete type compares its metadata, where
        // one to a protocol searches the conformances (asked on every read of a hot path).
        if database is DirectSQLiteDatabase { return .sqlite }
        if database is PreparedPostgresDatabase { return .postgres }
        return (database as? any SQLDatabase).map { of(sql: $0) } ?? .sqlite
    }

    /// The engine behind an SQLKit database.
    static func of(sql database: any SQLDatabase) -> SQLEngine {
        database.dialect.name == "postgresql" ? .postgres : .sqlite
    }
}

/// Runs engine-specific raw statements; used by migrations for triggers and indexes that
/// Fluent's schema builder cannot express.
enum SQLDialectSwitch {
    /// Runs statements both engines understand alike (plain indexes Fluent cannot declare).
    static func run(on database: any Database, portable statements: [String]) async throws {
        try await run(on: database, sqlite: statements, postgres: statements)
    }

    static func run(on database: any Database, sqlite: [String], postgres: [String]) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        let statements = SQLEngine.of(database) == .postgres ? postgres : sqlite
        for statement in statements {
            try await sql.raw(SQLQueryString(statement)).run()
        }
    }
}

/// A migration made only of statements both engines understand alike (indexes Fluent's schema
/// builder cannot declare): `forward` when it is prepared, `backward` when it is reverted.
protocol PortableStatementsMigration: AsyncMigration {
    var forward: [String] { get }
    var backward: [String] { get }
}

extension PortableStatementsMigration {
    func prepare(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: forward)
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: backward)
    }
}
