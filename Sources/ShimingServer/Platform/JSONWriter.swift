import Foundation
import Vapor

/// JSON written member by member, without a tree: for the answers of the paths that carry load
/// (a case, a verification), where `SortedJSON` built a tree of every member through
/// `Encodable` and sorted it (a twentieth of the request loops' work under the case read).
///
/// The writer writes what it is given, in order: callers give each object's members with
/// their keys sorted and leave out a nil optional, as `JSONEncoder` with `.sortedKeys` does
/// (and so `SortedJSON`). Each caller's bytes are tested against `SortedJSON`'s for the same
/// value. A date `SortedJSON` cannot write throws `SortedJSON.Unsupported`, and the caller
/// falls back to `SortedJSON` (`JSONCoding.response`).
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Nothing written yet in the innermost object or array.
    private var fresh = true

    init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
    }

    /// An object, its members written by `body`.
    mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "{"))
        let outer = fresh
        fresh = true
        try body(&self)
        fresh = outer
        bytes.append(UInt8(ascii: "}"))
    }

    /// An array, each item written by `item`.
    mutating func array<Items: Sequence>(_ items: Items, _ item: (inout JSONWriter, Items.Element) throws -> Void) rethrows {
        bytes.append(UInt8(ascii: "["))
        let outer = fresh
        fresh = true
        for element in items {
            if !fresh { bytes.append(UInt8(ascii: ",")) }
            fresh = false
            try item(&self, element)
        }
        fresh = outer
        bytes.append(UInt8(ascii: "]"))
    }

    /// A member's key (a plain ASCII name: written as it is); its value follows.
    mutating func key(_ name: StaticString) {
        if !fresh { bytes.append(UInt8(ascii: ",")) }
        fresh = false
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// A key that is not known in advance (a dictionary's), escaped as text.
    mutating func key(_ name: String) {
        if !fresh { bytes.append(UInt8(ascii: ",")) }
        fresh = false
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func string(_ value: String) {
        AuditJSON.append(value, escapingSlashes: false, to: &bytes)
    }

    mutating func bool(_ value: Bool) {
        bytes.append(contentsOf: value ? Self.true : Self.false)
    }

    mutating func int(_ value: Int) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func date(_ value: Date) throws {
        try SortedJSON.write(value, to: &bytes)
    }

    // Members, left out when nil.

    mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    mutating func member(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }

    mutating func member(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    mutating func member(_ name: StaticString, _ value: Date?) throws {
        guard let value else { return }
        key(name)
        try date(value)
    }

    mutating func member(_ name: StaticString, _ value: UUID) {
        key(name)
        string(value.uuidText)
    }

    mutating func member(_ name: StaticString, _ values: [String]?) {
        guard let values else { return }
        key(name)
        array(values) { $0.string($1) }
    }

    private static let (`true`, `false`) = (Array("true".utf8), Array("false".utf8))
}

extension JSONCoding {
    /// The answer `value` as the API's encoder writes it, written by `write` (the same bytes,
    /// without the content configuration's look-up behind a lock), or by the encoder where
    /// `write` cannot.
    static func response<Value: Encodable>(_ value: Value, written write: (Value) throws -> [UInt8]) throws -> Response {
        let response = Response()
        if let bytes = try? write(value) {
            response.headers.contentType = .json
            response.body = .init(buffer: ByteBuffer(bytes: bytes))
        } else {
            try response.content.encode(value, using: encoder)
        }
        return response
    }
}
