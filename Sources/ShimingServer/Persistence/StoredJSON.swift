import Foundation
import ShimingCore

/// How JSON columns are written and read: sorted keys and ISO 8601 dates, so that the same
/// value is always the same text.
enum StoredJSON {
    static func text<T: Encodable>(_ value: T) throws -> String {
        if T.self == [CheckResult].self { return CheckResultsJSON.text(value as! [CheckResult]) }
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
        // Read off the tree where it parses: decoding an array through `Decodable` looks up
        // generic metadata for each step, twice a query.
        if case .array(let items)? = try? JSONTree.parse(text) {
            var texts: [String] = []
            texts.reserveCapacity(items.count)
            for item in items {
                guard case .text(let text) = item else { return [] }  // as the decoder: not a list of strings
                texts.append(text)
            }
            return texts
        }
        return (try? decode([String].self, from: text)) ?? []
    }
}
