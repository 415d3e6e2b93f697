import Foundation
import ShimingCore
import Testing
import Vapor
@testable import ShimingServer

/// `SortedJSON` must write what `JSONEncoder` writes with sorted keys and ISO 8601 dates, byte
/// for byte, or refuse (then callers use `JSONEncoder`).
@Suite("JSON written directly, byte for byte as JSONEncoder writes it")
struct SortedJSONTests {
    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A random JSON-shaped value, encoded through every kind of container call.
    private indirect enum Value: Encodable {
        case object([(String, Value)])
        case nested([(String, Value)])  // written through nested containers
        case array([Value])
        case text(String)
        case small(Int8)
        case large(UInt64)
        case number(Int)
        case flag(Bool)
        case date(Date)
        case id(UUID)
        case missing  // encodeIfPresent(nil): no member at all
        case null
        case map([String: Int])
        case numbered([Int: String])

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .object(let members):
                var container = encoder.container(keyedBy: Key.self)
                for (name, value) in members {
                    let key = Key(stringValue: name)
                    switch value {
                    case .text(let text): try container.encode(text, forKey: key)
                    case .small(let number): try container.encode(number, forKey: key)
                    case .large(let number): try container.encode(number, forKey: key)
                    case .flag(let flag): try container.encode(flag, forKey: key)
                    case .missing: try container.encodeIfPresent(String?.none, forKey: key)
                    case .null: try container.encodeNil(forKey: key)
                    case .nested(let inner):
                        var nested = container.nestedContainer(keyedBy: Key.self, forKey: key)
                        for (innerName, innerValue) in inner { try nested.encode(innerValue, forKey: Key(stringValue: innerName)) }
                    case .array(let items):
                        var nested = container.nestedUnkeyedContainer(forKey: key)
                        for item in items { try nested.encode(item) }
                    default: try container.encode(value, forKey: key)
                    }
                }
            case .nested(let members):
                try Value.object(members).encode(to: encoder)
            case .array(let items):
                var container = encoder.unkeyedContainer()
                for item in items {
                    switch item {
                    case .text(let text): try container.encode(text)
                    case .large(let number): try container.encode(number)
                    case .null: try container.encodeNil()
                    default: try container.encode(item)
                    }
                }
            case .text(let text): try text.encode(to: encoder)
            case .small(let number): try number.encode(to: encoder)
            case .large(let number): try number.encode(to: encoder)
            case .number(let number): try number.encode(to: encoder)
            case .flag(let flag): try flag.encode(to: encoder)
            case .date(let date):
                // (`date.encode(to:)` itself would write a number, which SortedJSON refuses.)
                var container = encoder.singleValueContainer()
                try container.encode(date)
            case .id(let id):
                var container = encoder.singleValueContainer()
                try container.encode(id)
            case .missing, .null:
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            case .map(let map): try map.encode(to: encoder)
            case .numbered(let map): try map.encode(to: encoder)
            }
        }
    }

    private static let characters: [Character] = ["a", "Z", "_", "0", "9", "/", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{0}",
                                                  "\u{1F}", "\u{7F}", "\u{2028}", " ", "é", "陈", "😀", "！", "-", "."]

    private static func text(_ random: inout SeededRandom) -> String {
        String((0..<Int(random.next() % 8)).map { _ in characters[Int(random.next() % UInt64(characters.count))] })
    }

    private static func value(_ random: inout SeededRandom, depth: Int) -> Value {
        switch random.next() % (depth > 3 ? 9 : 13) {
        case 0: return .text(text(&random))
        case 1: return .small(Int8(truncatingIfNeeded: random.next()))
        case 2: return .large(random.next())
        case 3: return .number(Int(bitPattern: UInt(random.next())) >> Int(random.next() % 64))
        case 4: return .flag(random.next() % 2 == 0)
        case 5: return .date(Date(timeIntervalSince1970: Double(Int64(random.next() % 10_000_000_000) - 2_000_000_000) + Double(random.next() % 1000) / 1000))
        case 6: return .id(UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) }))
        case 7: return .null
        case 8: return .map(Dictionary(uniqueKeysWithValues: (0..<random.next() % 4).map { ("k\(text(&random))\($0)", Int($0)) }))
        case 9: return .numbered(Dictionary(uniqueKeysWithValues: (0..<random.next() % 4).map { (Int(random.next() % 50) * 4 + Int($0), text(&random)) }))
        case 10: return .array((0..<random.next() % 5).map { _ in value(&random, depth: depth + 1) })
        default:
            // Distinct names, or JSONEncoder keeps the last of two and SortedJSON refuses.
            var names = Set<String>()
            let members = (0..<random.next() % 6).compactMap { _ -> (String, Value)? in
                let name = text(&random)
                guard names.insert(name).inserted else { return nil }
                let member = random.next() % 7 == 0 ? Value.missing : value(&random, depth: depth + 1)
                return (name, member)
            }
            return random.next() % 2 == 0 ? .object(members) : .nested(members.filter { if case .missing = $0.1 { false } else { true } })
        }
    }

    private static func foundation(escapingSlashes: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = escapingSlashes ? [.sortedKeys] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Both encoders' texts of `value` (for readable failures).
    private func same<T: Encodable>(_ value: T, escaping: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = String(decoding: try Self.foundation(escapingSlashes: escaping).encode(value), as: UTF8.self)
        do {
            let actual = String(decoding: try SortedJSON(escapesSlashes: escaping).encode(value), as: UTF8.self)
            #expect(actual == expected, sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error) for \(expected)", sourceLocation: sourceLocation)
        }
    }

    @Test("3,000 seeded random values (objects, nested containers, arrays, escapes, Chinese and emoji, integers of every width, dates, ids, maps, nulls), slashes escaped or not")
    func randomValues() throws {
        var random = SeededRandom(state: 2026_12_03)
        for round in 0..<3_000 {
            try same(Self.value(&random, depth: 0), escaping: round % 2 == 0)
        }
    }

    @Test("the application's own types: a case's application, its checks, a verification answer")
    func applicationTypes() throws {
        let identity = JSONSamples.application
        let answer = PlatformViews.VerificationBody(VerificationAnswer(
            verified: true, program: "e-commerce", level: "registry", verifiedAt: Date(timeIntervalSince1970: 1_796_244_592.5),
            expiresAt: nil, claims: ["ageOver18": .bool(true), "maskedName": .string("陈*芳"), "school": .object(["grade": "3", "class": "2"])]))
        for escaping in [true, false] {
            try same(identity, escaping: escaping)
            try same(answer, escaping: escaping)
        }
    }

    private struct Ratio: Encodable {
        let share: Double
    }

    private struct Twice: Encodable {
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(1, forKey: Key(stringValue: "a"))
            try container.encode(2, forKey: Key(stringValue: "a"))
        }
    }

    private struct Empty: Encodable {}

    @Test("what it does not write as JSONEncoder would is refused, and the API's encoder then writes JSONEncoder's bytes")
    func refusedAndFallback() throws {
        let refused: [any Encodable] = [
            Ratio(share: 0.1), [1.5], Data([1, 2]), URL(string: "https://example.cn/a")!, Decimal(1),
            Date(timeIntervalSince1970: -2_208_988_801), Date(timeIntervalSince1970: 253_402_300_800), Twice(),
        ]
        for value in refused {
            #expect(throws: SortedJSON.Unsupported.self) { try SortedJSON(escapesSlashes: false).encode(value) }
            let fallback = Self.foundation(escapingSlashes: false)
            var body = ByteBuffer()
            var headers = HTTPHeaders()
            try SortedJSONContentEncoder(fallback: fallback).encode(value, to: &body, headers: &headers)
            #expect(Array(body.readableBytesView) == Array(try fallback.encode(value)))
            #expect(headers.contentType == .json)
        }
        // The edges of the dates it writes, and a value that writes nothing.
        for value in [Date(timeIntervalSince1970: -2_208_988_800), Date(timeIntervalSince1970: 253_402_300_799.9)] {
            try same([value], escaping: false)
        }
        try same([Empty()], escaping: false)
    }
}
