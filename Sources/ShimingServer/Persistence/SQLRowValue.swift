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
    let names: Names

    /// The prefixed names of a table's columns, made once (not a new string for every value read).
    final class Names: Sendable {
        let prefix: String
        private let prefixed: [String: String]

        init(_ columns: [String], prefix: String) {
            self.prefix = prefix
            prefixed = Dictionary(uniqueKeysWithValues: columns.map { ($0, prefix + $0) })
        }

        func callAsFunction(_ column: String) -> String { prefixed[column] ?? prefix + column }
    }

    var allColumns: [String] { row.allColumns.filter { $0.hasPrefix(names.prefix) }.map { String($0.dropFirst(names.prefix.count)) } }

    func contains(column: String) -> Bool { row.contains(column: names(column)) }

    func decodeNil(column: String) throws -> Bool { try row.decodeNil(column: names(column)) }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D { try row.decode(column: names(column), as: type) }

    /// The columns of `columns` named with `prefix` (`cases.id AS case_id, …`), for a `SELECT`.
    static func columns(_ columns: [String], of table: String, prefix: String) -> SQLQueryString {
        SQLQueryString(columns.map { "\(table).\($0) AS \(prefix)\($0)" }.joined(separator: ", "))
    }
}
