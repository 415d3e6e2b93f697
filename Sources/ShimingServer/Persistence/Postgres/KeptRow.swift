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
    /// Where each column is, shared by the rows of one answer: PostgresNIO's own table is
    /// looked up twice for every value (whether the column is there, then the column).
    let columns: Columns

    /// The columns' positions by name (of duplicate names, the last, as PostgresNIO's).
    final class Columns: Sendable {
        let positions: [String: Int]

        init(_ cells: PostgresRandomAccessRow) {
            var positions = [String: Int](minimumCapacity: cells.count)
            for (position, cell) in cells.enumerated() { positions[cell.columnName] = position }
            self.positions = positions
        }
    }

    /// A row of an answer whose rows share `columns` (made from the first).
    init(_ row: PostgresRow, columns: inout Columns?) {
        self.row = row
        cells = row.makeRandomAccess()
        if let columns {
            self.columns = columns
        } else {
            let made = Columns(cells)
            columns = made
            self.columns = made
        }
    }

    var allColumns: [String] { cells.map(\.columnName) }

    func contains(column: String) -> Bool { columns.positions[column] != nil }

    func decodeNil(column: String) throws -> Bool {
        guard let position = columns.positions[column] else { return true }
        return cells[position].bytes == nil
    }

    func decode<T: Decodable>(column: String, as type: T.Type) throws -> T {
        if let position = columns.positions[column], let kind = ColumnType.of(T.self) {
            let cell = cells[position]
            // (`do`, not `try?`: an optional of `T` is generic metadata to look up at each value.)
            if !cell.dataType.isUserDefined {
                do { return try Self.direct(kind, T.self, from: cell) } catch {}
            }
        }
        return try row.sql().decode(column: column, as: T.self)
    }

    private static func direct<T>(_ kind: ColumnType, _ type: T.Type, from cell: PostgresCell) throws -> T {
        switch kind {
        case .string: ColumnType.same(try cell.decode(String.self), as: T.self)
        case .optionalString: ColumnType.same(try cell.decode(String?.self), as: T.self)
        case .uuid: ColumnType.same(try cell.decode(UUID.self), as: T.self)
        case .optionalUUID: ColumnType.same(try cell.decode(UUID?.self), as: T.self)
        case .date: ColumnType.same(try cell.decode(Date.self), as: T.self)
        case .optionalDate: ColumnType.same(try cell.decode(Date?.self), as: T.self)
        case .int: ColumnType.same(try cell.decode(Int.self), as: T.self)
        case .optionalInt: ColumnType.same(try cell.decode(Int?.self), as: T.self)
        case .int64: ColumnType.same(try cell.decode(Int64.self), as: T.self)
        case .optionalInt64: ColumnType.same(try cell.decode(Int64?.self), as: T.self)
        case .bool: ColumnType.same(try cell.decode(Bool.self), as: T.self)
        case .optionalBool: ColumnType.same(try cell.decode(Bool?.self), as: T.self)
        }
    }
}
