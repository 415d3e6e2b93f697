import SQLKit

/// A statement written out once, as its text with the engine's placeholders (`?` on SQLite)
/// and its values in order: for a hot path whose statement has one shape. SQLKit serializes it
/// by copying the text, where an `SQLQueryString` is serialized piece by piece on every call
/// (on SQLite, where the statement itself runs in microseconds, that was a seventh of the
/// verification query's read).
struct SQLText: SQLExpression {
    let sql: String
    let binds: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write(sql)
        serializer.binds += binds
    }
}

extension SQLDatabase {
    /// `text` to run, its rows fetched as with `raw(_:)`.
    func text(_ text: SQLText) -> SQLStatementFetcher {
        SQLStatementFetcher(query: text, database: self)
    }
}

/// A statement of Shiming's own kind (`SQLText`, `PlannedAsDataGrows`) to run, its rows
/// fetched as with `raw(_:)` (`first()`, `all()`, …).
final class SQLStatementFetcher: SQLQueryFetcher {
    let query: any SQLExpression
    let database: any SQLDatabase

    init(query: any SQLExpression, database: any SQLDatabase) {
        self.query = query
        self.database = database
    }
}

extension SQLDatabase {
    /// `serialize(_:)`, with room for a statement's text and values set aside first: both grew
    /// step by step, each step a new allocation and a copy, for every statement a writer runs.
    func serializedAhead(_ query: any SQLExpression) -> (sql: String, binds: [any Encodable & Sendable]) {
        var serializer = SQLSerializer(database: self)
        serializer.sql.reserveCapacity(512)
        serializer.binds.reserveCapacity(24)
        query.serialize(to: &serializer)
        return (serializer.sql, serializer.binds)
    }
}
