import Foundation
import SQLiteKit
import SQLiteNIO
import Testing
@testable import ShimingServer

/// `SQLiteValues` converts the common types itself: every value must come out exactly as
/// SQLiteKit's encoder and decoder make it, errors included.
@Suite("SQLite values converted directly, as SQLiteKit converts them")
struct SQLiteValuesTests {
    private enum Kind: String, Codable, Equatable {
        case verified, draft
    }

    private static let encoder = SQLiteDataEncoder()
    private static let decoder = SQLiteDataDecoder()

    @Test("bound values: 2,000 seeded values of every directly converted type, optional or not, nil, and types left to SQLiteKit")
    func boundValues() throws {
        var random = SeededRandom(state: 2026_12_03)
        for _ in 0..<2_000 {
            let values: [any Encodable] = [
                String(repeating: "陈a\"\\/\u{0}", count: Int.random(in: 0...3, using: &random)),
                UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) }),
                Date(timeIntervalSince1970: Double.random(in: -4e9...4e9, using: &random)),
                Int(bitPattern: UInt(random.next())), Int64(bitPattern: random.next()), random.next() % 2 == 0,
                Optional(String(random.next())), Optional(UUID()), String?.none, UUID?.none, Date?.none, Int?.none,
                Optional(Date(timeIntervalSince1970: Double(random.next() % 2_000_000_000))), Optional(Int(random.next() % 1000)),
                Kind.verified, Double.random(in: -1e9...1e9, using: &random), Int32(truncatingIfNeeded: random.next()),
                Data([UInt8(random.next() % 256), 0]), [String(random.next())],
            ]
            for value in values {
                #expect(try SQLiteValues.data(value) == Self.encoder.encode(value), "\(value)")
            }
        }
        let id = UUID()
        #expect(try SQLiteValues.data(id) == .text(id.uuidString))
        #expect(id.uuidText == id.uuidString)
    }

    @Test("an id's text in either case is uuidString's, and uuidString.lowercased()'s")
    func idsAsText() {
        var random = SeededRandom(state: 2026_12_06)
        for _ in 0..<2_000 {
            let id = UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) })
            #expect(id.uuidText == id.uuidString)
            #expect(id.lowercasedText == id.uuidString.lowercased())
        }
    }

    @Test("ids read from text directly are the ids UUID(uuidString:) reads, in either case; every other text is left to it")
    func idsFromText() {
        var random = SeededRandom(state: 2026_12_05)
        for round in 0..<2_000 {
            let id = UUID(uuid: withUnsafeBytes(of: (random.next(), random.next())) { $0.load(as: uuid_t.self) })
            let text = round % 3 == 0 ? id.uuidString.lowercased() : round % 3 == 1 ? id.uuidString : String(id.uuidString.enumerated().map {
                $0.offset % 2 == 0 ? Character($0.element.lowercased()) : $0.element
            })
            #expect(UUID(hyphenated: text) == id && UUID(uuidString: text) == id, "\(text)")
            // Damaged: a digit, a hyphen, the length, braces.
            var damaged = Array(text)
            let at = Int(random.next() % 36)
            damaged[at] = ["g", "-", "0", " ", "Z"][Int(random.next() % 5)]
            for other in [String(damaged), String(text.dropLast()), text + "0", "{" + text + "}", text.replacingOccurrences(of: "-", with: "")] {
                #expect(UUID(hyphenated: other) == UUID(uuidString: other) || UUID(hyphenated: other) == nil, "\(other)")
            }
        }
    }

    /// SQLiteKit's reading of `data` and `SQLiteValues`' agree, errors included.
    private func same<D: Decodable & Equatable>(_ type: D.Type, _ data: SQLiteData, sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameOutcome(Result { try Self.decoder.decode(D.self, from: data) }, Result { try SQLiteValues.value(D.self, from: data) },
                          "\(D.self) from \(data)", sourceLocation: sourceLocation)
    }

    @Test("read values: every directly read type, optional or not, from text, integers, floats, null and bytes, equal to SQLiteKit's, errors included")
    func readValues() throws {
        var random = SeededRandom(state: 2026_12_04)
        var stored: [SQLiteData] = [
            .null, .text(""), .text("1"), .text("true"), .text("2026-12-03T07:48:33Z"), .text("verified"),
            .text(UUID().uuidString), .text(UUID().uuidString.lowercased()), .text("not-an-id"), .text("陈桂芳"),
            .integer(0), .integer(1), .integer(2), .integer(-1), .integer(.max), .integer(.min),
            .float(0), .float(1.5), .float(1_796_244_592.541_14), .float(-0.000_000_5), .blob(ByteBuffer(bytes: [1, 2])),
        ]
        for _ in 0..<500 {
            stored.append(.float(Double.random(in: -4e9...4e9, using: &random)))
            stored.append(.integer(Int(bitPattern: UInt(random.next())) >> Int(random.next() % 64)))
            stored.append(.text(String(random.next(), radix: 36)))
        }
        for data in stored {
            same(String.self, data)
            same(String?.self, data)
            same(UUID.self, data)
            same(UUID?.self, data)
            same(Date.self, data)
            same(Date?.self, data)
            same(Int.self, data)
            same(Int?.self, data)
            same(Int64.self, data)
            same(Int64?.self, data)
            same(Bool.self, data)
            same(Bool?.self, data)
            same(Kind.self, data)
            same(Double.self, data)
        }
    }
}
