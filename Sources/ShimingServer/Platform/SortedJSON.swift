import Foundation
import IdentityRules

/// JSON exactly as `JSONEncoder` writes it with `.sortedKeys` and `.iso8601` dates (slashes
/// escaped or not), byte for byte, for values made of text, integers, booleans, dates from 1900
/// to 9999, nulls, objects and arrays: every answer of the API and every JSON column.
///
/// `JSONEncoder` keeps a coding path, asks of every value whether it is one of the types it
/// treats specially, and builds a tree of its own before writing it; a case's answer spent a
/// tenth of the request loops there. This encoder builds a lean tree and writes it in one pass.
/// What it does not write as `JSONEncoder` would (floating-point numbers, data, URLs, decimals,
/// other dates, a key written twice, a super encoder) makes `encode` throw `Unsupported`, and
/// callers use `JSONEncoder` for that value.
struct SortedJSON: Sendable {
    /// Whether `/` is written `\/` (`JSONEncoder`'s default; the API's answers do not).
    let escapesSlashes: Bool

    struct Unsupported: Error {}

    func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try Node.of(value, shared: Shared())
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try write(node, to: &out)
        return out
    }

    // MARK: The tree

    fileprivate final class Shared {
        var unsupported = false
    }

    fileprivate final class Members {
        var list: [(key: String, value: Node)] = []
    }

    fileprivate final class Items {
        var list: [Node] = []
    }

    fileprivate enum Node {
        case text(String)
        case number(String)
        case bool(Bool)
        case null
        case date(Date)
        case object(Members)
        case array(Items)

        /// A value's node: the types `JSONEncoder` writes in its own way are told apart by their
        /// type (the ones written here) or refused.
        static func of<T: Encodable>(_ value: T, shared: Shared) throws -> Node {
            if T.self == String.self { return .text(value as! String) }
            if T.self == Int.self { return .number(String(value as! Int)) }
            if T.self == Bool.self { return .bool(value as! Bool) }
            if T.self == Date.self { return .date(value as! Date) }
            if T.self == UUID.self { return .text((value as! UUID).uuidText) }
            if T.self == Data.self || T.self == URL.self || T.self == Decimal.self || T.self == Double.self || T.self == Float.self {
                throw Unsupported()
            }
            let encoder = TreeEncoder(shared: shared)
            try value.encode(to: encoder)
            if shared.unsupported { throw Unsupported() }
            return encoder.node ?? .object(Members())
        }
    }

    // MARK: Writing

    private func write(_ node: Node, to out: inout [UInt8]) throws {
        switch node {
        case .text(let text): AuditJSON.append(text, escapingSlashes: escapesSlashes, to: &out)
        case .number(let digits): out.append(contentsOf: digits.utf8)
        case .bool(let flag): out.append(contentsOf: flag ? Self.true : Self.false)
        case .null: out.append(contentsOf: Self.null)
        case .date(let date): try Self.write(date, to: &out)
        case .object(let members):
            // Sorted in place: the tree is written once, and a copy of each object's members
            // was made to sort them.
            members.list.sort { $0.key < $1.key }
            let list = members.list
            out.append(UInt8(ascii: "{"))
            for (offset, member) in list.enumerated() {
                if offset > 0 {
                    guard member.key != list[offset - 1].key else { throw Unsupported() }
                    out.append(UInt8(ascii: ","))
                }
                AuditJSON.append(member.key, escapingSlashes: escapesSlashes, to: &out)
                out.append(UInt8(ascii: ":"))
                try write(member.value, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (offset, item) in items.list.enumerated() {
                if offset > 0 { out.append(UInt8(ascii: ",")) }
                try write(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    private static let (`true`, `false`, null) = (Array("true".utf8), Array("false".utf8), Array("null".utf8))

    /// `"2026-12-03T07:48:33Z"`: whole seconds (rounded down), UTC, years 1900 to 9999 (others
    /// `JSONEncoder` writes otherwise: Julian dates before 1583, more digits after 9999).
    static func write(_ date: Date, to out: inout [UInt8]) throws {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        guard seconds >= -2_208_988_800, seconds < 253_402_300_800 else { throw Unsupported() }
        let whole = Int64(seconds)
        let (civil, time) = (CivilDate(unixSeconds: whole, utcOffsetSeconds: 0), ((whole % 86_400) + 86_400) % 86_400)
        out.append(UInt8(ascii: "\""))
        civil.append(to: &out)
        out.append(UInt8(ascii: "T"))
        CivilDate.appendTwoDigits(Int(time / 3_600), to: &out)
        out.append(UInt8(ascii: ":"))
        CivilDate.appendTwoDigits(Int(time / 60 % 60), to: &out)
        out.append(UInt8(ascii: ":"))
        CivilDate.appendTwoDigits(Int(time % 60), to: &out)
        out.append(contentsOf: [UInt8(ascii: "Z"), UInt8(ascii: "\"")])
    }
}

// MARK: The encoder

/// Builds a `SortedJSON.Node` from a value's `encode(to:)`.
private final class TreeEncoder: Encoder, SingleValueEncodingContainer {
    let shared: SortedJSON.Shared
    var node: SortedJSON.Node?

    init(shared: SortedJSON.Shared) {
        self.shared = shared
    }

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object(let members) = node { return KeyedEncodingContainer(KeyedWriter(members: members, shared: shared)) }
        if node != nil { shared.unsupported = true }
        let members = SortedJSON.Members()
        node = .object(members)
        return KeyedEncodingContainer(KeyedWriter(members: members, shared: shared))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array(let items) = node { return UnkeyedWriter(items: items, shared: shared) }
        if node != nil { shared.unsupported = true }
        let items = SortedJSON.Items()
        node = .array(items)
        return UnkeyedWriter(items: items, shared: shared)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    private func set(_ value: SortedJSON.Node) {
        if node != nil { shared.unsupported = true }
        node = value
    }

    func encodeNil() throws { set(.null) }
    func encode(_ value: Bool) throws { set(.bool(value)) }
    func encode(_ value: String) throws { set(.text(value)) }
    func encode(_ value: Double) throws { throw SortedJSON.Unsupported() }
    func encode(_ value: Float) throws { throw SortedJSON.Unsupported() }
    func encode(_ value: Int) throws { set(.number(String(value))) }
    func encode(_ value: Int8) throws { set(.number(String(value))) }
    func encode(_ value: Int16) throws { set(.number(String(value))) }
    func encode(_ value: Int32) throws { set(.number(String(value))) }
    func encode(_ value: Int64) throws { set(.number(String(value))) }
    func encode(_ value: UInt) throws { set(.number(String(value))) }
    func encode(_ value: UInt8) throws { set(.number(String(value))) }
    func encode(_ value: UInt16) throws { set(.number(String(value))) }
    func encode(_ value: UInt32) throws { set(.number(String(value))) }
    func encode(_ value: UInt64) throws { set(.number(String(value))) }
    func encode<T: Encodable>(_ value: T) throws { set(try .of(value, shared: shared)) }
}

private struct KeyedWriter<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let members: SortedJSON.Members
    let shared: SortedJSON.Shared

    var codingPath: [any CodingKey] { [] }

    private func add(_ value: SortedJSON.Node, _ key: Key) { members.list.append((key.stringValue, value)) }

    mutating func encodeNil(forKey key: Key) throws { add(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { add(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { add(.text(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { throw SortedJSON.Unsupported() }
    mutating func encode(_ value: Float, forKey key: Key) throws { throw SortedJSON.Unsupported() }
    mutating func encode(_ value: Int, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { add(.number(String(value)), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { add(try .of(value, shared: shared), key) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let nested = SortedJSON.Members()
        add(.object(nested), key)
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(members: nested, shared: shared))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = SortedJSON.Items()
        add(.array(nested), key)
        return UnkeyedWriter(items: nested, shared: shared)
    }

    mutating func superEncoder() -> any Encoder {
        shared.unsupported = true
        return TreeEncoder(shared: shared)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        shared.unsupported = true
        return TreeEncoder(shared: shared)
    }
}

private struct UnkeyedWriter: UnkeyedEncodingContainer {
    let items: SortedJSON.Items
    let shared: SortedJSON.Shared

    var codingPath: [any CodingKey] { [] }
    var count: Int { items.list.count }

    private func add(_ value: SortedJSON.Node) { items.list.append(value) }

    mutating func encodeNil() throws { add(.null) }
    mutating func encode(_ value: Bool) throws { add(.bool(value)) }
    mutating func encode(_ value: String) throws { add(.text(value)) }
    mutating func encode(_ value: Double) throws { throw SortedJSON.Unsupported() }
    mutating func encode(_ value: Float) throws { throw SortedJSON.Unsupported() }
    mutating func encode(_ value: Int) throws { add(.number(String(value))) }
    mutating func encode(_ value: Int8) throws { add(.number(String(value))) }
    mutating func encode(_ value: Int16) throws { add(.number(String(value))) }
    mutating func encode(_ value: Int32) throws { add(.number(String(value))) }
    mutating func encode(_ value: Int64) throws { add(.number(String(value))) }
    mutating func encode(_ value: UInt) throws { add(.number(String(value))) }
    mutating func encode(_ value: UInt8) throws { add(.number(String(value))) }
    mutating func encode(_ value: UInt16) throws { add(.number(String(value))) }
    mutating func encode(_ value: UInt32) throws { add(.number(String(value))) }
    mutating func encode(_ value: UInt64) throws { add(.number(String(value))) }
    mutating func encode<T: Encodable>(_ value: T) throws { add(try .of(value, shared: shared)) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = SortedJSON.Members()
        add(.object(nested))
        return KeyedEncodingContainer(KeyedWriter<NestedKey>(members: nested, shared: shared))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = SortedJSON.Items()
        add(.array(nested))
        return UnkeyedWriter(items: nested, shared: shared)
    }

    mutating func superEncoder() -> any Encoder {
        shared.unsupported = true
        return TreeEncoder(shared: shared)
    }
}
