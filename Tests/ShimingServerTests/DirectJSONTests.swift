import Foundation
import ShimingCore
import Testing
@testable import ShimingServer

/// `DirectJSON` must read what `JSONDecoder` reads, value for value, or refuse (then callers use
/// `JSONDecoder`); `JSONTree` must read only JSON that Foundation reads, with the same members.
@Suite("JSON read directly, value for value as JSONDecoder reads it")
struct DirectJSONTests {
    enum Kind: String, Decodable, Equatable {
        case resident, passport
    }

    /// Two numbers read through a nested unkeyed container.
    struct Pair: Decodable, Equatable {
        let first: Int16
        let second: UInt8?

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            first = try container.decode(Int16.self)
            second = try container.decodeNil() ? nil : container.decode(UInt8.self)
        }
    }

    /// Every kind of member the application's types have, all optional, so that a random text
    /// often fits.
    struct Probe: Decodable, Equatable {
        var text: String?
        var small: Int8?
        var large: UInt64?
        var number: Int?
        var wide: Int64?
        var flag: Bool?
        var date: Date?
        var id: UUID?
        var kind: Kind?
        var list: [String]?
        var map: [String: Int]?
        var numbered: [Int: String]?
        var pair: Pair?
        var children: [Probe]?
    }

    private static let keys = ["text", "small", "large", "number", "wide", "flag", "date", "id", "kind", "list", "map", "numbered",
                               "pair", "children"]
    private static let pieces = ["a", "Z", "0", "/", "中文", "😀", " ", "\"", "\\", "\n", "\u{1}", "\t", "é", "\u{7F}", "\u{2028}", "\r", "\u{8}", "\u{C}", ""]
    private static let space = ["", "", " ", "\n  ", "\t", "\r\n"]

    private static func someText(_ random: inout SeededRandom, odd: Bool) -> String {
        JSONSamples.spelled((0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined(), &random, odd: odd)
    }

    /// A number as JSON may write it: mostly whole, sometimes a fraction, an exponent, `-0`, too large.
    private static func someNumber(_ random: inout SeededRandom, odd: Bool) -> String {
        switch Int.random(in: 0..<(odd ? 12 : 6), using: &random) {
        case 0: String(Int64.random(in: .min ... .max, using: &random))
        case 1: String(UInt64.random(in: 0 ... .max, using: &random))
        case 2, 3: String(Int.random(in: -200...300, using: &random))
        case 4: String(Int.random(in: 0...100, using: &random))
        case 5: "0"
        case 6: "-0"
        case 7: "1.0"
        case 8: "1e2"
        case 9: "2.5E-3"
        case 10: "99999999999999999999"
        default: "-9223372036854775809"
        }
    }

    private static func someDate(_ random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<8, using: &random) {
        case 0: "\"2026-02-30T00:00:00Z\""
        case 1: "\"2026-12-03T07:48:33.250Z\""
        case 2: "\"2026-12-03T15:48:33+08:00\""
        case 3: "\"1899-12-31T23:59:59Z\""
        case 4: String(Int.random(in: -1_000_000...1_000_000, using: &random))
        default:
            "\"" + ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(Int64.random(in: -2_208_988_800...253_402_300_799, using: &random)))) + "\""
        }
    }

    /// A value for `key`: usually of the member's type, sometimes of another.
    private static func value(for key: String, _ random: inout SeededRandom, depth: Int, odd: Bool) -> String {
        if Int.random(in: 0..<(odd ? 8 : 40), using: &random) == 0 {
            return ["null", "true", "false", someNumber(&random, odd: odd), someText(&random, odd: odd), "[]", "{}"].randomElement(using: &random)!
        }
        func list(_ count: Int, _ item: () -> String) -> String {
            "[" + (0..<count).map { _ in space.randomElement(using: &random)! + item() }.joined(separator: ",") + "]"
        }
        switch key {
        case "text": return someText(&random, odd: odd)
        case "small", "large", "number", "wide": return someNumber(&random, odd: odd)
        case "flag": return Bool.random(using: &random) ? "true" : "false"
        case "date": return someDate(&random)
        case "id":
            let id = UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) }).uuidString
            return "\"" + (Bool.random(using: &random) ? id : id.lowercased()) + "\""
        case "kind": return ["\"resident\"", "\"passport\"", "\"other\""].randomElement(using: &random)!
        case "list": return list(Int.random(in: 0...3, using: &random)) { someText(&random, odd: odd) }
        case "map":
            let names = Set((0..<Int.random(in: 0...3, using: &random)).map { _ in someText(&random, odd: false) })
            return "{" + names.map { $0 + ":" + String(Int.random(in: -5...5, using: &random)) }.joined(separator: ",") + "}"
        case "numbered":
            let names = Set((0..<Int.random(in: 0...3, using: &random)).map { _ in Int.random(in: -3...40, using: &random) })
            return "{" + names.map { "\"\($0)\":" + someText(&random, odd: false) }.joined(separator: ",") + "}"
        case "pair":
            return list(Int.random(in: 1...2, using: &random)) { Bool.random(using: &random) ? "null" : someNumber(&random, odd: odd) }
        default:
            return depth > 2 ? "[]" : list(Int.random(in: 0...2, using: &random)) { object(&random, depth: depth + 1, odd: odd) }
        }
    }

    /// A random object of `Probe`'s members (with, when `odd`, a key written twice or unknown).
    private static func object(_ random: inout SeededRandom, depth: Int, odd: Bool) -> String {
        var chosen = Array(keys.shuffled(using: &random).prefix(Int.random(in: 0...6, using: &random)))
        if odd, let first = chosen.first, Int.random(in: 0..<10, using: &random) == 0 { chosen.append(first) }
        if Int.random(in: 0..<10, using: &random) == 0 { chosen.append("unknown") }
        let members = chosen.map { key in
            JSONSamples.spelled(key, &random) + space.randomElement(using: &random)! + ":" + space.randomElement(using: &random)!
                + value(for: key, &random, depth: depth, odd: odd)
        }
        return "{" + members.joined(separator: "," + space.randomElement(using: &random)!) + "}"
    }

    private static func foundation(iso8601Dates: Bool) -> JSONDecoder {
        let decoder = JSONDecoder()
        if iso8601Dates { decoder.dateDecodingStrategy = .iso8601 }
        return decoder
    }

    @Test("4,000 seeded random texts: what it reads equals what JSONDecoder reads, and with the fallback every result and error is JSONDecoder's")
    func randomTexts() throws {
        var random = SeededRandom(state: 2026_12_03_27)
        var read = 0
        for round in 0..<4_000 {
            let odd = round % 2 == 1
            let text = Self.space.randomElement(using: &random)! + Self.object(&random, depth: 0, odd: odd) + Self.space.randomElement(using: &random)!
            let iso = round % 3 != 0
            let expected = Result { try Self.foundation(iso8601Dates: iso).decode(Probe.self, from: Data(text.utf8)) }
            if let value = try? DirectJSON(readsISO8601Dates: iso).decode(Probe.self, from: text) {
                read += 1
                #expect(try expected.get() == value, "\(text)")
            }
            expectSameOutcome(expected, Result { try DirectJSON.decode(Probe.self, from: text, iso8601Dates: iso) }, text)
            // The tree reads no text Foundation refuses, and names the same members.
            if let tree = try? JSONTree.parse(text) {
                let any = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
                #expect(Self.shape(tree) == Self.shape(any), "\(text)")
            } else {
                #expect(odd, "a plain text was refused: \(text)")
            }
        }
        // Most texts are read directly, so the comparison above is not empty.
        #expect(read > 1_500, "read \(read)")
    }

    /// The members' names, the texts and the values' kinds, nested, in one order.
    private static func shape(_ tree: JSONTree) -> String {
        switch tree {
        case .null: "null"
        case .bool, .number: "n"  // Foundation reads booleans as numbers; numbers' values are compared above
        case .text(let text): "s" + text
        case .array(let items): "[" + items.map(shape).joined(separator: ",") + "]"
        case .object(let object): "{" + object.members.sorted { $0.key < $1.key }.map { $0.key + ":" + shape($0.value) }.joined(separator: ",") + "}"
        }
    }

    private static func shape(_ any: Any) -> String {
        switch any {
        case is NSNull: return "null"
        case let text as String: return "s" + text
        case is NSNumber: return "n"
        case let items as [Any]: return "[" + items.map(shape).joined(separator: ",") + "]"
        case let object as [String: Any]:
            return "{" + object.keys.sorted().map { $0 + ":" + shape(object[$0]!) }.joined(separator: ",") + "}"
        default: return "?"
        }
    }

    @Test("the application's own types, as StoredJSON writes them, are read directly")
    func applicationTypes() throws {
        let application = JSONSamples.application
        let text = try StoredJSON.text(application)
        #expect(try DirectJSON(readsISO8601Dates: false).decode(CaseApplication.self, from: text) == application)
        #expect(try JSONDecoder().decode(CaseApplication.self, from: Data(text.utf8)) == application)
        let dates = (0..<500).map { Date(timeIntervalSince1970: Double($0) * 505_000_003 - 2_208_988_800) }
        let written = try StoredJSON.text(dates)
        #expect(try DirectJSON(readsISO8601Dates: true).decode([Date].self, from: written) == dates)
        #expect(try Self.foundation(iso8601Dates: true).decode([Date].self, from: Data(written.utf8)) == dates)
    }

    @Test("a large object (looked up through an index) reads as JSONDecoder reads it, and a key written twice anywhere is refused")
    func largeObjects() throws {
        let keys = (0..<40).map { "key\($0)" }
        let text = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let direct = try DirectJSON(readsISO8601Dates: false).decode([String: Int].self, from: text)
        #expect(direct == (try JSONDecoder().decode([String: Int].self, from: Data(text.utf8))) && direct.count == 40)
        guard case .object(let object) = try JSONTree.parse(text) else { Issue.record("not an object"); return }
        #expect(object["key39"] == .number("39") && object["key0"] == .number("0") && object["key40"] == nil)
        for repeated in [1, 11, 12, 13, 39] {
            let twice = String(text.dropLast()) + ",\"key\(repeated)\":1}"
            #expect(throws: JSONTree.Malformed.self) { try JSONTree.parse(twice) }
        }
    }

    /// Reads a number leniently: a failed attempt is caught.
    private struct Lenient: Decodable, Equatable {
        enum CodingKeys: String, CodingKey { case value }
        let value: Double?
        let whole: Int?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            whole = try? container.decode(Int.self, forKey: .value)
            value = try? container.decode(Double.self, forKey: .value)
        }
    }

    @Test("what it leaves to JSONDecoder is refused, even when the value's own init catches the failure")
    func refused() throws {
        for text in [#"{"value":1.5}"#, #"{"value":1e2}"#, #"{"value":3}"#] {
            #expect(throws: DirectJSON.Unsupported.self) { try DirectJSON(readsISO8601Dates: false).decode(Lenient.self, from: text) }
            #expect(try DirectJSON.decode(Lenient.self, from: text, iso8601Dates: false) == JSONDecoder().decode(Lenient.self, from: Data(text.utf8)))
        }
        for text in [#"[1.5]"#, #"["AQI="]"#, #"{"a":1,"a":2}"#, #"["\ud800"]"#, "[" + String(repeating: "[", count: 300) + String(repeating: "]", count: 301)] {
            #expect(throws: (any Error).self) { try DirectJSON(readsISO8601Dates: true).decode([Data].self, from: text) }
        }
        #expect(throws: DirectJSON.Unsupported.self) { try DirectJSON(readsISO8601Dates: false).decode([Date].self, from: #"["2026-12-03T07:48:33Z"]"#) }
    }
}
