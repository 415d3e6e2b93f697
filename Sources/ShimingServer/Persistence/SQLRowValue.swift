import SQLKit

extension SQLRow {
    /// A column's value as the type the caller names (`let at: Date = try row.value("at")`):
    /// what the hot paths read their rows with, column by column, without a `Decodable` model.
    func value<T: Decodable>(_ column: String) throws -> T {
        try decode(column: column, as: T.self)
    }
}

/// The columns of a row whose names start with `prefix`, under their names without it: a
/// table's columns read beside another's in one row (`SELECT cases.id AS case_id, …`), for
/// the reader of that table's rows (`CaseStore.value(row:)`).
struct PrefixedRow: SQLRow {
    let row: any SQLRow
    let prefix: String

    var allColumns: [String] { row.allColumns.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } }

    func contains(column: String) -> Bool { row.contains(column: prefix + column) }

    func decodeNil(column: String) throws -> Bool { try row.decodeNil(column: prefix + column) }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D { try row.decode(column: prefix + column, as: type) }

    /// The columns of `columns` named with `prefix` (`cases.id AS case_id, …`), for a `SELECT`.
    static func columns(_ columns: [String], of table: String, prefix: String) -> SQLQueryString {
        SQLQueryString(columns.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", "))
    }
}
