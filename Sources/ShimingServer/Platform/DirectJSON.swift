import Foundation
import IdentityRules

/// JSON decoded as `JSONDecoder` decodes it (dates as ISO 8601 or left to it), value for value,
/// for values made of text, integers, booleans, whole-second UTC dates, nulls, objects and
/// arrays: the API's request bodies and every JSON column.
///
/// `JSONDecoder` keeps a coding path, asks of every value whether it is one of the types it
/// treats specially, and goes through a map of its own; reading a case's application was the
/// largest single part of the verification query's samples. This decoder parses a `JSONTree`
/// and hands its values out. Whatever it does not read as `JSONDecoder` would (floating-point
/// numbers, data, URLs, decimals, other date forms, a super decoder, a key written twice,
/// text `JSONTree` refuses) makes `decode` throw, and so does any error it raised, even one
/// the value's own `init(from:)` caught: callers then use `JSONDecoder`, whose result or error
/// is the answer.
struct DirectJSON: Sendable {
    /// Whether dates are read as ISO 8601 text (`.iso8601`); otherwise they are refused.
    let readsISO8601Dates: Bool

    struct Unsupported: Error {}

    func decode<T: Decodable>(_ type: T.Type, from tree: JSONTree) throws -> T {
        let shared = Shared(readsISO8601Dates: readsISO8601Dates)
        do {
            let value = try shared.value(T.self, from: tree, path: Path(parent: [], key: nil))
            guard !shared.failed else { throw Unsupported() }
            return value
        } catch {
            throw Unsupported()
        }
    }

    func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: JSONTree.parse(text))
    }

    /// The value, or `JSONDecoder`'s answer (dates as ISO 8601 or its default) where this
    /// decoder has none.
    static func decode<T: Decodable>(_ type: T.Type, from text: String, iso8601Dates: Bool) throws -> T {
        if let value = try? DirectJSON(readsISO8601Dates: iso8601Dates).decode(type, from: text) { return value }
        return try foundation(iso8601Dates).decode(type, from: Data(text.utf8))
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data, iso8601Dates: Bool) throws -> T {
        if let tree = data.withUnsafeBytes({ try? JSONTree.parse($0) }),
           let value = try? DirectJSON(readsISO8601Dates: iso8601Dates).decode(type, from: tree) {
            return value
        }
        return try foundation(iso8601Dates).decode(type, from: data)
    }

    private static func foundation(_ iso8601Dates: Bool) -> JSONDecoder {
        let decoder = JSONDecoder()
        if iso8601Dates { decoder.dateDecodingStrategy = .iso8601 }
        return decoder
    }
}

/// Where a value is: its container's path and its own key, joined only when asked for (a
/// failure, a nested container), so that reading a member costs no array.
private struct Path {
    let parent: [any CodingKey]
    let key: (any CodingKey)?

    var full: [any CodingKey] { key.map { parent + [$0] } ?? parent }
}

/// What every container of one `decode` shares: the date form, and whether anything failed.
private final class Shared {
    let readsISO8601Dates: Bool
    var failed = false

    init(readsISO8601Dates: Bool) {
        self.readsISO8601Dates = readsISO8601Dates
    }

    /// Notes the failure before it is thrown, so that a caught one still refuses the value.
    func fail(_ path: Path, _ description: String) -> DecodingError {
        failed = true
        return .dataCorrupted(DecodingError.Context(codingPath: path.full, debugDescription: description))
    }

    func value<T: Decodable>(_ type: T.Type, from tree: JSONTree, path: Path) throws -> T {
        let single = SingleContainer(tree: tree, path: path, shared: self)
        if T.self == String.self { return try single.decode(String.self) as! T }
        if T.self == Int.self { return try single.decode(Int.self) as! T }
        if T.self == Bool.self { return try single.decode(Bool.self) as! T }
        if T.self == Date.self {
            guard readsISO8601Dates, case .text(let text) = tree, let date = Self.isoDate(text) else { throw fail(path, "not a date read here") }
            return date as! T
        }
        if T.self == Data.self || T.self == URL.self || T.self == Decimal.self || T.self == Double.self || T.self == Float.self {
            throw fail(path, "left to JSONDecoder")
        }
        return try T(from: TreeDecoder(tree: tree, path: path, shared: self))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, years 1900 to 9999, as `JSONEncoder` and `SortedJSON` write dates.
    static func isoDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "Z") else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for byte in bytes[from..<(from + count)] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
              let minute = number(14, 2), let second = number(17, 2), year >= 1900,
              hour < 24, minute < 60, second < 60, let civil = CivilDate(year: year, month: month, day: day) else { return nil }
        let seconds = civil.daysSinceEpoch * 86_400 + Int64(hour * 3_600 + minute * 60 + second)
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

/// A key of an array's element in a coding path, as `JSONDecoder` names it.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct TreeDecoder: Decoder {
    let tree: JSONTree
    let path: Path
    let shared: Shared

    var codingPath: [any CodingKey] { path.full }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = tree else { throw shared.fail(path, "not an object") }
        return KeyedDecodingContainer(KeyedContainer<Key>(object: object, path: path.full, shared: shared))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = tree else { throw shared.fail(path, "not an array") }
        return UnkeyedContainer(items: items, path: path.full, shared: shared)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleContainer(tree: tree, path: path, shared: shared)
    }
}

private struct SingleContainer: SingleValueDecodingContainer {
    let tree: JSONTree
    let path: Path
    let shared: Shared

    var codingPath: [any CodingKey] { path.full }

    func decodeNil() -> Bool {
        if case .null = tree { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let flag) = tree else { throw shared.fail(path, "not a boolean") }
        return flag
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .text(let text) = tree else { throw shared.fail(path, "not text") }
        return text
    }

    func decode(_ type: Double.Type) throws -> Double { throw shared.fail(path, "left to JSONDecoder") }
    func decode(_ type: Float.Type) throws -> Float { throw shared.fail(path, "left to JSONDecoder") }
    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try shared.value(type, from: tree, path: path) }

    /// Whole numbers written as such that fit the type (`I(_:)` refuses fractions and exponents).
    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        guard case .number(let digits) = tree, digits != "-0", let value = I(digits) else {
            throw shared.fail(path, "not a whole number of this type")
        }
        return value
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONTree]
    let path: [any CodingKey]
    let shared: Shared
    private(set) var currentIndex = 0

    init(items: [JSONTree], path: [any CodingKey], shared: Shared) {
        (self.items, self.path, self.shared) = (items, path, shared)
    }

    var codingPath: [any CodingKey] { path }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    /// The next element, moving past it.
    private mutating func next() throws -> SingleContainer {
        let elementPath = Path(parent: path, key: IndexKey(index: currentIndex))
        guard !isAtEnd else { throw shared.fail(elementPath, "no more elements") }
        defer { currentIndex += 1 }
        return SingleContainer(tree: items[currentIndex], path: elementPath, shared: shared)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw shared.fail(Path(parent: path, key: IndexKey(index: currentIndex)), "no more elements") }
        guard case .null = items[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decode(type) }
    mutating func decode(_ type: String.Type) throws -> String { try next().decode(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decode(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try next().decode(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decode(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decode(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decode(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decode(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decode(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decode(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decode(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decode(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decode(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decode(type) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decode(type) }

    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> {
        let element = try next()
        return try TreeDecoder(tree: element.tree, path: element.path, shared: shared).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let element = try next()
        return try TreeDecoder(tree: element.tree, path: element.path, shared: shared).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { throw shared.fail(Path(parent: path, key: nil), "left to JSONDecoder") }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let path: [any CodingKey]
    let shared: Shared

    var codingPath: [any CodingKey] { path }
    var allKeys: [Key] { object.members.compactMap { Key(stringValue: $0.key) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    /// The member's value; a missing key fails.
    private func member(_ key: Key) throws -> SingleContainer {
        guard let tree = object[key.stringValue] else {
            shared.failed = true
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: path, debugDescription: "no such key"))
        }
        return SingleContainer(tree: tree, path: Path(parent: path, key: key), shared: shared)
    }

    /// The member's value where there is one and it is not null (`decodeIfPresent`): one
    /// lookup, where the protocol's own asks `contains`, then `decodeNil`, then `decode`.
    private func present(_ key: Key) -> SingleContainer? {
        guard let tree = object[key.stringValue] else { return nil }
        if case .null = tree { return nil }
        return SingleContainer(tree: tree, path: Path(parent: path, key: key), shared: shared)
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try present(key)?.decode(type) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try present(key)?.decode(type) }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? { try present(key)?.decode(type) }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key).decodeNil() }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try member(key).decode(type) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try member(key).decode(type) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try member(key).decode(type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try member(key).decode(type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try member(key).decode(type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try member(key).decode(type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try member(key).decode(type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try member(key).decode(type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try member(key).decode(type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try member(key).decode(type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try member(key).decode(type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try member(key).decode(type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try member(key).decode(type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try member(key).decode(type) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).decode(type) }

    func nestedContainer<N: CodingKey>(keyedBy type: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
        let value = try member(key)
        return try TreeDecoder(tree: value.tree, path: value.path, shared: shared).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let value = try member(key)
        return try TreeDecoder(tree: value.tree, path: value.path, shared: shared).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { throw shared.fail(Path(parent: path, key: nil), "left to JSONDecoder") }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw shared.fail(Path(parent: path, key: key), "left to JSONDecoder") }
}
