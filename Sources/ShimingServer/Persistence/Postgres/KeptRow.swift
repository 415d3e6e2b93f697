import Foundation
import PostgresKit
import PostgresNIO
import SQLKit

/// A row of a kept statement's answer, read exactly as PostgresKit's `PostgresRow.sql()` reads
/// it, with the types every statement reads (text, ids, timestamps, integers, flags, and those
/// optional) handed to PostgresNIO's own decoding directly.
///
/// For every value it reads, PostgresKit first makes a coding path from the column's name and
/// position (a new string) and asks the runtime whether the type decodes itself (a conformance
/// lookup); these types do, and it then makes the same PostgresNIO call made here. Values of
/// other types, of a user-defined type (Fluent's enums), and any value this call refuses (so
/// that the error is PostgresKit's) are read through PostgresKit.
struct KeptRow: SQLRow {
    let row: PostgresRow
    let cells: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row
        cells = row.makeRandomAccess()
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { cells.contains(column) }

    func decodeNil(column: String) throws -> Bool {
        !cells.contains(column) || cells[column].bytes == nil
    }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        if cells.contains(column) {
            let cell = cells[column]
            if !cell.dataType.isUserDefined, let value = try? Self.direct(T.self, from: cell) { return value }
        }
        return try row.sql().decode(column: column, as: T.self)
    }

    private static func direct<T>(_ type: T.Type, from cell: PostgresCell) throws -> T? {
        if T.self == String.self { return try cell.decode(String.self) as? T }
        if T.self == String?.self { return try cell.decode(String?.self) as? T }
        if T.self == UUID.self { return try cell.decode(UUID.self) as? T }
        if T.self == UUID?.self { return try cell.decode(UUID?.self) as? T }
        if T.self == Date.self { return try cell.decode(Date.self) as? T }
        if T.self == Date?.self { return try cell.decode(Date?.self) as? T }
        if T.self == Int.self { return try cell.decode(Int.self) as? T }
        if T.self == Int?.self { return try cell.decode(Int?.self) as? T }
        if T.self == Int64.self { return try cell.decode(Int64.self) as? T }
        if T.self == Bool.self { return try cell.decode(Bool.self) as? T }
        if T.self == Bool?.self { return try cell.decode(Bool?.self) as? T }
        return nil
    }
}
