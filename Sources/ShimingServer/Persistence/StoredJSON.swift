import Foundation

/// How JSON columns are written and read: sorted keys and ISO 8601 dates, so that the same
/// value is always the same text.
enum StoredJSON {
    static func text<T: Encodable>(_ value: T) throws -> String {
        if let bytes = try? SortedJSON(escapesSlashes: true).encode(value) { return String(decoding: bytes, as: UTF8.self) }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// A stored JSON column's value (ISO 8601 dates, as `text` writes them).
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// A stored string map; an unreadable column reads as empty.
    static func dictionary(_ text: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }

    /// A stored list of strings; an unreadable column reads as empty. Every platform query
    /// reads three (the platform's redirect addresses, programs and claims) and the grant's
    /// claims: a list as `text` writes plain strings, `["a","b\/c"]`, is read directly, and
    /// anything else (other escapes, spaces, other values) by `JSONDecoder`, which
    /// `StoredJSONTests` compares it with.
    static func list(_ text: String) -> [String] {
        plainList(text) ?? (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    /// `["…","…"]` exactly, with no escape but `\/` and no control character; nil otherwise.
    static func plainList(_ text: String) -> [String]? {
        let bytes = Array(text.utf8)
        let (open, close, quote, comma, backslash, slash) = (UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "\""), UInt8(ascii: ","),
                                                             UInt8(ascii: "\\"), UInt8(ascii: "/"))
        guard bytes.count >= 2, bytes[0] == open, bytes[bytes.count - 1] == close else { return nil }
        var list: [String] = []
        var index = 1
        if index == bytes.count - 1 { return list }
        while true {
            guard bytes[index] == quote else { return nil }
            var value: [UInt8] = []
            index += 1
            while index < bytes.count - 1, bytes[index] != quote {
                let byte = bytes[index]
                if byte < 0x20 { return nil }
                if byte == backslash {
                    guard index + 1 < bytes.count - 1, bytes[index + 1] == slash else { return nil }
                    index += 1
                }
                value.append(bytes[index])
                index += 1
            }
            guard index < bytes.count - 1 else { return nil }  // no closing quotation mark
            list.append(String(decoding: value, as: UTF8.self))
            index += 1
            if index == bytes.count - 1 { return list }
            guard bytes[index] == comma else { return nil }
            index += 1
            guard index < bytes.count - 1 else { return nil }
        }
    }
}
