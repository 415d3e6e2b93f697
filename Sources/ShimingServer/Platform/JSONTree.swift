/// A JSON text as a tree: what `DirectJSON` decodes values from and `StrictBody` walks to find
/// fields an operation does not know. Numbers keep their text; an object keeps its members in
/// order and refuses a key written twice.
///
/// `parse` reads RFC 8259 JSON in UTF-8 exactly. It throws `Malformed` for anything else, and
/// also for what it leaves to Foundation: a byte-order mark, invalid UTF-8, a lone surrogate
/// escape, a key written twice, nesting deeper than `maximumDepth`.
enum JSONTree: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written (`-12`, `3.5e2`).
    case number(String)
    case text(String)
    case array([JSONTree])
    case object(JSONObject)

    struct Malformed: Error {}

    static let maximumDepth = 256

    static func parse(_ text: String) throws -> JSONTree {
        var text = text
        return try text.withUTF8 { try parse($0) }
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONTree {
        try parse(bytes.assumingMemoryBound(to: UInt8.self))
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONTree {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let tree = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw Malformed() }
        return tree
    }
}

/// An object's members in the order written; looked up by a scan while small, by an index
/// built while parsing once large.
struct JSONObject: Sendable, Equatable {
    private(set) var members: [(key: String, value: JSONTree)] = []
    private var index: [String: Int]?

    static let indexedFrom = 12

    /// Adds a member; false if the key is already there.
    mutating func append(_ key: String, _ value: JSONTree) -> Bool {
        if index != nil {
            // (In place: a copy of the index would be made at every member.)
            guard index!.updateValue(members.count, forKey: key) == nil else { return false }
        } else {
            for member in members where member.key == key { return false }
            if members.count + 1 == Self.indexedFrom {
                var built = Dictionary(uniqueKeysWithValues: members.enumerated().map { ($1.key, $0) })
                built[key] = members.count
                index = built
            }
        }
        members.append((key, value))
        return true
    }

    subscript(key: String) -> JSONTree? {
        if let index { return index[key].map { members[$0].value } }
        for member in members where member.key == key { return member.value }
        return nil
    }

    static func == (a: JSONObject, b: JSONObject) -> Bool {
        a.members.count == b.members.count && zip(a.members, b.members).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

private struct Parser {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSONTree {
        guard depth < JSONTree.maximumDepth, index < bytes.count else { throw JSONTree.Malformed() }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .text(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default: return .number(try number())
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { throw JSONTree.Malformed() }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw JSONTree.Malformed() }
        index += count
    }

    private mutating func object(depth: Int) throws -> JSONTree {
        index += 1
        var object = JSONObject()
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(object) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw JSONTree.Malformed() }
            let key = try string()
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw JSONTree.Malformed() }
            index += 1
            skipSpace()
            guard object.append(key, try value(depth: depth + 1)) else { throw JSONTree.Malformed() }
            skipSpace()
            guard index < bytes.count else { throw JSONTree.Malformed() }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "}") { return .object(object) }
            guard byte == UInt8(ascii: ",") else { throw JSONTree.Malformed() }
        }
    }

    private mutating func array(depth: Int) throws -> JSONTree {
        index += 1
        var items: [JSONTree] = []
        skipSpace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipSpace()
            items.append(try value(depth: depth + 1))
            skipSpace()
            guard index < bytes.count else { throw JSONTree.Malformed() }
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "]") { return .array(items) }
            guard byte == UInt8(ascii: ",") else { throw JSONTree.Malformed() }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, as written.
    private mutating func number() throws -> String {
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw JSONTree.Malformed() }
        if bytes[index] == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONTree.Malformed() }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw JSONTree.Malformed() }
            skipDigits()
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// A string from its opening quotation mark: unescaped, valid UTF-8, no control character.
    private mutating func string() throws -> String {
        index += 1
        let start = index
        var bits: UInt8 = 0  // the run's bytes or-ed: below 0x80, it is ASCII
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let run = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                // ASCII is valid UTF-8 as it is; `String(validating:)` looks up its encoding's
                // generic metadata on every call.
                if bits < 0x80 { return String(decoding: run, as: UTF8.self) }
                guard let text = String(validating: run, as: UTF8.self) else { throw JSONTree.Malformed() }
                return text
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw JSONTree.Malformed() }
            bits |= byte
            index += 1
        }
        throw JSONTree.Malformed()
    }

    private mutating func escapedString(from start: Int) throws -> String {
        var out = Array(UnsafeBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw JSONTree.Malformed() }
                return text
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { throw JSONTree.Malformed() }
                let kind = bytes[index]
                index += 1
                switch kind {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(kind)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"): try appendEscapedScalar(to: &out)
                default: throw JSONTree.Malformed()
                }
            default:
                guard byte >= 0x20 else { throw JSONTree.Malformed() }
                out.append(byte)
            }
        }
        throw JSONTree.Malformed()
    }

    /// `XXXX` after `\u`, or a surrogate pair `XXXX\uXXXX`; a lone surrogate is refused.
    private mutating func appendEscapedScalar(to out: inout [UInt8]) throws {
        var value = try hex4()
        if (0xD800..<0xDC00).contains(value) {
            guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw JSONTree.Malformed()
            }
            index += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw JSONTree.Malformed() }
            value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let scalar = Unicode.Scalar(value) else { throw JSONTree.Malformed() }
        out.append(contentsOf: UTF8.encode(scalar)!)
    }

    private mutating func hex4() throws -> UInt32 {
        guard bytes.count - index >= 4 else { throw JSONTree.Malformed() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            guard let digit = Hex.digit(byte) else { throw JSONTree.Malformed() }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
