import Foundation
import SQLKit

/// A parent row read with its child rows in one statement: each child table becomes one column
/// holding a JSON array of objects (`JSONRows.aggregate`), read back as rows (`JSONRows.rows`)
/// that the children's usual `init(row:)` mappings read like the engine's own rows. A case page
/// or API read then costs one statement instead of three.
///
/// Timestamps come back with exactly the value the engine's driver would give: on SQLite the
/// stored seconds, written with six decimals and rounded to the microsecond as SQLiteNIO does;
/// on PostgreSQL the microseconds since 2000 that PostgresNIO reads.
enum JSONRows {
    /// `(SELECT <the rows of tail as a JSON array> FROM tail)`: `columns` as the objects' keys,
    /// `dates` written as the engine's driver reads them (NULL stays null), rows in `order`.
    static func aggregate(_ columns: [String], dates: Set<String>, from tail: SQLQueryString, order: String,
                          engine: SQLEngine) -> SQLQueryString {
        let pairs = columns.map { column -> String in
            guard dates.contains(column) else { return "'\(column)', \(column)" }
            switch engine {
            case .sqlite: return "'\(column)', CASE WHEN \(column) IS NULL THEN NULL ELSE printf('%.6f', \(column)) END"
            case .postgres: return "'\(column)', ((EXTRACT(EPOCH FROM \(column)) - 946684800) * 1000000)::bigint"
            }
        }.joined(separator: ", ")
        switch engine {
        case .sqlite:
            return "(SELECT json_group_array(json_object(\(unsafeRaw: pairs)) ORDER BY \(unsafeRaw: order)) FROM " + tail + ")"
        case .postgres:
            return "(SELECT COALESCE(json_agg(json_build_object(\(unsafeRaw: pairs)) ORDER BY \(unsafeRaw: order)), '[]')::text FROM "
                + tail + ")"
        }
    }

    /// The rows of an array written by `aggregate` with the same `dates`.
    static func rows(_ text: String, dates: Set<String>, engine: SQLEngine) throws -> [Row] {
        let objects = try flatObjects(text) ?? JSONDecoder().decode([[String: Scalar]].self, from: Data(text.utf8))
        return objects.map { Row(values: $0, dates: dates, engine: engine) }
    }

    /// The array's objects read from its `JSONTree`, when they have the plain shape: values that
    /// are text, whole numbers that fit 64 bits, booleans or nulls. Anything else (fractions,
    /// exponents, nesting) answers nil, and `rows` uses `JSONDecoder`: what is read here is
    /// exactly what it would read (tests compare the two). `JSONDecoder`, with a thrown error for
    /// every value that is not text, was a twentieth of a PostgreSQL case read's time.
    static func flatObjects(_ text: String) -> [[String: Scalar]]? {
        guard case .array(let items)? = try? JSONTree.parse(text) else { return nil }
        var objects: [[String: Scalar]] = []
        objects.reserveCapacity(items.count)
        for item in items {
            guard case .object(let object) = item else { return nil }
            var values: [String: Scalar] = .init(minimumCapacity: object.members.count)
            for (key, value) in object.members {
                switch value {
                case .null: values[key] = .null
                case .bool(let flag): values[key] = .bool(flag)
                case .text(let text): values[key] = .string(text)
                case .number(let digits):
                    guard digits != "-0", let number = Int64(digits) else { return nil }
                    values[key] = .integer(number)
                case .array, .object: return nil
                }
            }
            objects.append(values)
        }
        return objects
    }

    /// One value of an object.
    enum Scalar: Decodable, Equatable {
        case null
        case bool(Bool)
        case integer(Int64)
        case double(Double)
        case string(String)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            // Most values are text: tried first, as each failed attempt costs a thrown error.
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode(Int64.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .double(value)
            } else {
                self = .bool(try container.decode(Bool.self))
            }
        }
    }

    /// One child row.
    struct Row: SQLRow {
        let values: [String: Scalar]
        let dates: Set<String>
        let engine: SQLEngine

        var allColumns: [String] { Array(values.keys) }

        func contains(column: String) -> Bool { values[column] != nil }

        func decodeNil(column: String) throws -> Bool { (values[column] ?? .null) == .null }

        /// The types rows are read as most (`ColumnType`) are read directly, anything else and
        /// any value they would refuse through `Decodable` (`decodeThroughDecoder`), whose
        /// answer or error stands: the same values either way (tests compare the two).
        func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
            let decoder = decoder(column)
            if let kind = ColumnType.of(D.self), let value = decoder.direct(kind, as: D.self) { return value }
            return try decoder.decode(D.self)
        }

        /// `decode` through `Decodable` alone.
        func decodeThroughDecoder<D: Decodable>(column: String, as type: D.Type) throws -> D {
            try decoder(column).decode(D.self)
        }

        private func decoder(_ column: String) -> ValueDecoder {
            ValueDecoder(value: values[column] ?? .null, isDate: dates.contains(column), engine: engine, column: column)
        }
    }

    private struct ColumnKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes one value: `String`, integers, `Bool`, `Double`, `UUID` (text), `Date` (a date
    /// column: `Date(from:)` asks for seconds since 2001) and their optionals.
    private struct ValueDecoder: Decoder, SingleValueDecodingContainer {
        let value: Scalar
        let isDate: Bool
        let engine: SQLEngine
        let column: String
        /// Made when asked for (an error's context), not an array for every value read.
        var codingPath: [any CodingKey] { [ColumnKey(stringValue: column)] }
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        /// The value as `D`, of kind `kind`, as `decode` reads it, or nil where this does not
        /// read it so (`decode` then answers, a value or its error).
        func direct<D>(_ kind: ColumnType, as type: D.Type) -> D? {
            switch (kind, value) {
            case (.string, .string(let text)): return ColumnType.same(text, as: D.self)
            case (.optionalString, .string(let text)): return ColumnType.same(String?.some(text), as: D.self)
            case (.optionalString, .null): return ColumnType.same(String?.none, as: D.self)
            case (.uuid, .string(let text)): return UUID(hyphenated: text).map { ColumnType.same($0, as: D.self) }
            case (.optionalUUID, .string(let text)): return UUID(hyphenated: text).map { ColumnType.same(UUID?.some($0), as: D.self) }
            case (.optionalUUID, .null): return ColumnType.same(UUID?.none, as: D.self)
            case (.date, _) where isDate: return (try? secondsSince2001()).map { ColumnType.same(Date(timeIntervalSinceReferenceDate: $0), as: D.self) }
            case (.optionalDate, .null): return ColumnType.same(Date?.none, as: D.self)
            case (.optionalDate, _) where isDate:
                return (try? secondsSince2001()).map { ColumnType.same(Date?.some(Date(timeIntervalSinceReferenceDate: $0)), as: D.self) }
            case (.int, .integer(let number)): return Int(exactly: number).map { ColumnType.same($0, as: D.self) }
            case (.optionalInt, .integer(let number)): return Int(exactly: number).map { ColumnType.same(Int?.some($0), as: D.self) }
            case (.optionalInt, .null): return ColumnType.same(Int?.none, as: D.self)
            case (.int64, .integer(let number)): return ColumnType.same(number, as: D.self)
            case (.optionalInt64, .integer(let number)): return ColumnType.same(Int64?.some(number), as: D.self)
            case (.optionalInt64, .null): return ColumnType.same(Int64?.none, as: D.self)
            default: return nil
            }
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> { throw mismatch(type) }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Scalar].self) }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        func decodeNil() -> Bool { value == .null }

        func decode(_ type: Bool.Type) throws -> Bool {
            switch value {
            case .bool(let flag): return flag
            case .integer(let number) where number == 0 || number == 1: return number == 1
            default: throw mismatch(type)
            }
        }

        func decode(_ type: String.Type) throws -> String {
            guard case .string(let text) = value else { throw mismatch(type) }
            return text
        }

        func decode(_ type: Double.Type) throws -> Double {
            if isDate { return try secondsSince2001() }
            switch value {
            case .integer(let number): return Double(number)
            case .double(let number): return number
            default: throw mismatch(type)
            }
        }

        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

        func decode(_ type: Int.Type) throws -> Int { try integer() }
        func decode(_ type: Int8.Type) throws -> Int8 { try integer() }
        func decode(_ type: Int16.Type) throws -> Int16 { try integer() }
        func decode(_ type: Int32.Type) throws -> Int32 { try integer() }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer() }
        func decode(_ type: UInt.Type) throws -> UInt { try integer() }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try integer() }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try integer() }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try integer() }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try integer() }

        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            // An id from its bytes: `UUID(from:)` reads it through `UUID(uuidString:)`, which
            // parses with `sscanf` (a case's history rows are read this way on PostgreSQL).
            if T.self == UUID.self, case .string(let text) = value, let id = UUID(hyphenated: text) { return id as! T }
            return try T(from: self)
        }

        private func integer<T: FixedWidthInteger>() throws -> T {
            guard case .integer(let number) = value, let converted = T(exactly: number) else { throw mismatch(T.self) }
            return converted
        }

        /// As the engine's driver reads the column (see `JSONRows`).
        private func secondsSince2001() throws -> Double {
            switch (engine, value) {
            case (.sqlite, .string(let text)):
                guard let seconds = Double(text) else { throw mismatch(Date.self) }
                return (((seconds - Date.timeIntervalBetween1970AndReferenceDate) * 1e6).rounded()) / 1e6
            case (.postgres, .integer(let microseconds)):
                return Double(microseconds) / 1_000_000 + Self.postgresEpoch
            default:
                throw mismatch(Date.self)
            }
        }

        /// 2000-01-01 00:00 UTC, PostgreSQL's epoch, in seconds since 2001-01-01.
        private static let postgresEpoch: Double = -31_622_400

        private func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, DecodingError.Context(codingPath: codingPath, debugDescription: "The column is not a \(type)"))
        }
    }
}
