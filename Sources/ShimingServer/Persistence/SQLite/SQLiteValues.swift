import Foundation
import SQLiteKit
import SQLiteNIO

/// Values to and from SQLite exactly as SQLiteKit converts them (`SQLiteDataEncoder`,
/// `SQLiteDataDecoder`), with the types every statement binds and reads (text, ids, dates,
/// integers, flags, and those optional) converted directly.
///
/// SQLiteKit asks the runtime, for every value, whether its type converts itself (a protocol
/// conformance lookup), and takes the others (an id, an optional) through a `Codable` coder of
/// their own; on the write gate's thread that was an eighth of a verification query's work.
/// Anything else, and any value these would refuse (so that the error is SQLiteKit's), still
/// goes through SQLiteKit.
enum SQLiteValues {
    private static let encoder = SQLiteDataEncoder()
    private static let decoder = SQLiteDataDecoder()

    /// A bound value as SQLite stores it.
    ///
    /// The types bound most are told apart by their type first (`ColumnType`): a cast that
    /// fails is the runtime's slow path (a value bound as a date failed three before it
    /// matched), 3 % of the write gate's time under the submissions. Anything else (an
    /// optional, among others) is cast as before.
    static func data(_ value: any Encodable) throws -> SQLiteData {
        switch ColumnType.of(Swift.type(of: value)) {
        case .string: return .text(value as! String)
        case .uuid: return .text((value as! UUID).uuidText)
        case .date: return .float((value as! Date).timeIntervalSince1970)
        case .int: return .integer(value as! Int)
        default: break
        }
        return switch value {
        case let text as String: .text(text)
        case let id as UUID: .text(id.uuidText)
        case let date as Date: .float(date.timeIntervalSince1970)
        case let number as Int: .integer(number)
        case let number as Int64: .integer(Int(number))
        case let flag as Bool: .integer(flag ? 1 : 0)
        default: try encoder.encode(value)
        }
    }

    /// A stored value as the type the caller reads it as.
    static func value<D: Decodable>(_ type: D.Type, from data: SQLiteData) throws -> D {
        if let value = direct(D.self, from: data) { return value }
        return try decoder.decode(D.self, from: data)
    }

    private static func direct<D>(_ type: D.Type, from data: SQLiteData) -> D? {
        guard let kind = ColumnType.of(D.self) else { return nil }
        switch (data, kind) {
        case (.text(let text), .string): return ColumnType.same(text, as: D.self)
        case (.text(let text), .optionalString): return ColumnType.same(String?.some(text), as: D.self)
        case (.text(let text), .uuid), (.text(let text), .optionalUUID):
            guard let id = UUID(hyphenated: text) ?? UUID(uuidString: text) else { return nil }
            return kind == .uuid ? ColumnType.same(id, as: D.self) : ColumnType.same(UUID?.some(id), as: D.self)
        case (.integer(let number), .int): return ColumnType.same(number, as: D.self)
        case (.integer(let number), .optionalInt): return ColumnType.same(Int?.some(number), as: D.self)
        case (.integer(let number), .int64): return ColumnType.same(Int64(number), as: D.self)
        case (.integer(let number), .optionalInt64): return ColumnType.same(Int64?.some(Int64(number)), as: D.self)
        case (.integer(let number), .bool) where number == 0 || number == 1: return ColumnType.same(number == 1, as: D.self)
        case (.integer(let number), .optionalBool) where number == 0 || number == 1: return ColumnType.same(Bool?.some(number == 1), as: D.self)
        case (.integer(let number), .date): return ColumnType.same(date(Double(number)), as: D.self)
        case (.integer(let number), .optionalDate): return ColumnType.same(Date?.some(date(Double(number))), as: D.self)
        case (.float(let seconds), .date): return ColumnType.same(date(seconds), as: D.self)
        case (.float(let seconds), .optionalDate): return ColumnType.same(Date?.some(date(seconds)), as: D.self)
        case (.null, .optionalString): return ColumnType.same(String?.none, as: D.self)
        case (.null, .optionalUUID): return ColumnType.same(UUID?.none, as: D.self)
        case (.null, .optionalDate): return ColumnType.same(Date?.none, as: D.self)
        case (.null, .optionalInt): return ColumnType.same(Int?.none, as: D.self)
        case (.null, .optionalInt64): return ColumnType.same(Int64?.none, as: D.self)
        case (.null, .optionalBool): return ColumnType.same(Bool?.none, as: D.self)
        default: return nil
        }
    }

    /// A date from seconds since 1970, rounded to the microsecond as SQLiteNIO rounds it.
    private static func date(_ seconds: Double) -> Date {
        let sinceReference = seconds - Date.timeIntervalBetween1970AndReferenceDate
        return Date(timeIntervalSinceReferenceDate: (sinceReference * 1e6).rounded() / 1e6)
    }
}

extension UUID {
    private static let digits = Array("0123456789ABCDEF".utf8)
    private static let lowercaseDigits = Array("0123456789abcdef".utf8)

    /// `UUID(uuidString:)` for the one form ids are stored and sent in (36 characters, hyphens
    /// after the 8th, 12th, 16th and 20th digit, either case), without going through `sscanf`;
    /// nil for any other text (`UUID(uuidString:)` then decides).
    init?(hyphenated text: String) {
        var text = text
        let parsed = text.withUTF8 { bytes -> uuid_t? in
            guard bytes.count == 36 else { return nil }
            var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &value) { out -> Bool in
                var at = 0
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        guard bytes[at] == UInt8(ascii: "-") else { return false }
                        at += 1
                    }
                    guard let high = Hex.digit(bytes[at]), let low = Hex.digit(bytes[at + 1]) else { return false }
                    out[index] = high << 4 | low
                    at += 2
                }
                return true
            }
            return ok ? value : nil
        }
        guard let parsed else { return nil }
        self.init(uuid: parsed)
    }

    /// `uuidString` (upper-case, hyphenated: how an id is stored as text and written in JSON),
    /// without going through `snprintf`.
    var uuidText: String { text(digits: Self.digits) }

    /// `uuidString.lowercased()` (how an id is written in audit details, subjects, links and
    /// pages), without `snprintf` and a second string.
    var lowercasedText: String { text(digits: Self.lowercaseDigits) }

    private func text(digits: [UInt8]) -> String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var at = 0
                for (offset, byte) in bytes.enumerated() {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        out[at] = UInt8(ascii: "-")
                        at += 1
                    }
                    out[at] = digits[Int(byte >> 4)]
                    out[at + 1] = digits[Int(byte & 0x0F)]
                    at += 2
                }
                return at
            }
        }
    }
}
