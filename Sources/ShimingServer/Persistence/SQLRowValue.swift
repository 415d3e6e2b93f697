import SQLKit

extension SQLRow {
    /// A column's value as the type the caller names (`let at: Date = try row.value("at")`):
    /// what the hot paths read their rows with, column by column, without a `Decodable` model.
    func value<T: Decodable>(_ column: String) throws -> T {
        try decode(column: column, as: T.self)
    }
}
