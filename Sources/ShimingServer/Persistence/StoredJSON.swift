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

    /// A stored JSON column's value (ISO 8601 dates, as `text` writes them), read by
    /// `DirectJSON`, or by `JSONDecoder` where it has no answer.
    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try DirectJSON.decode(type, from: text, iso8601Dates: true)
    }

    /// A stored string map; an unreadable column reads as empty.
    static func dictionary(_ text: String) -> [String: String] {
        (try? decode([String: String].self, from: text)) ?? [:]
    }

    /// A stored list of strings; an unreadable column reads as empty. Every platform query
    /// reads three (the platform's redirect addresses, programs and claims) and the grant's.
    static func list(_ text: String) -> [String] {
        (try? decode([String].self, from: text)) ?? []
    }
}
