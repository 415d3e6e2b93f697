import Foundation
import Testing
@testable import ShimingServer

@Suite("Stored JSON lists")
struct StoredJSONTests {
    private func decoded(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    @Test("a list of strings reads as JSONDecoder reads it: what StoredJSON.text writes, other spellings and broken texts")
    func lists() throws {
        var random = SeededRandom(state: 20261204)
        let pieces = ["a", "Z", "0", "/", "https://shop.example/return", "中文", "😀", " ", "\"", "\\", "\n", "\u{1}", "verified", "ageOver18", ""]
        for _ in 0..<2_000 {
            let list = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
            }
            let text = try StoredJSON.text(list)
            #expect(StoredJSON.list(text) == list, "\(text)")
        }
        let odd = ["", "[", "]", "[]", "[\"a\"", "[\"a\",]", "[,\"a\"]", "[\"a\" ]", "[ \"a\",\"b\"]", "[\"a\"\"b\"]", "[\"a\\\"]", "[\"a\\/\"]",
                   "[\"a\\u0041\"]", "[\"a\",\"\"]", "[1]", "[\"a\",1]", "{\"a\":1}", "[\"\u{1}\"]", "[\"a\\n\"]", "[\"/\"]", "null"]
        for text in odd {
            #expect(StoredJSON.list(text) == decoded(text), "\(text)")
        }
    }
}

@Suite("Arrays of flat JSON objects read directly")
struct FlatJSONTests {
    private func decoded(_ text: String) -> [[String: JSONRows.Scalar]]? {
        try? JSONDecoder().decode([[String: JSONRows.Scalar]].self, from: Data(text.utf8))
    }

    @Test("what it reads equals what JSONDecoder reads: seeded random arrays as PostgreSQL and SQLite write them, other spellings, and texts it leaves to JSONDecoder")
    func sameAsJSONDecoder() throws {
        var random = SeededRandom(state: 20261203)
        let pieces = ["a", "id", "0", "/", "中文", "😀", " ", "\"", "\\", "\n", "\u{1}", "\t", "case_document", "2026-12-03T06:00:00Z", ""]
        let space = ["", " ", "\n ", "\t"]
        var read = 0
        for _ in 0..<2_000 {
            var objects: [String] = []
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                var pairs: [String] = []
                for key in ["id", "at", "size", "kind", "ok", "note"].shuffled(using: &random).prefix(Int.random(in: 0...6, using: &random)) {
                    let value: String = switch Int.random(in: 0..<6, using: &random) {
                    case 0: "null"
                    case 1: Bool.random(using: &random) ? "true" : "false"
                    case 2: String(Int64.random(in: Int64.min...Int64.max, using: &random))
                    case 3: String(Int.random(in: -1_000...1_000, using: &random))
                    default: JSONSamples.spelled((0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined(), &random)
                    }
                    let (before, after) = (space.randomElement(using: &random)!, space.randomElement(using: &random)!)
                    pairs.append(JSONSamples.spelled(key, &random) + before + ":" + after + value)
                }
                objects.append("{" + pairs.joined(separator: "," + space.randomElement(using: &random)!) + "}")
            }
            let text = "[" + objects.joined(separator: ", " + space.randomElement(using: &random)!) + "]"
            let direct = JSONRows.flatObjects(text)
            #expect(direct != nil, "\(text)")
            #expect(direct == decoded(text), "\(text)")
            if direct != nil { read += 1 }
        }
        #expect(read == 2_000)
        // Texts outside the plain shape are left to JSONDecoder (nil); none is read otherwise.
        let odd = ["", "[", "[{}", "[{},]", "[,{}]", "{}", "[1]", "[{\"a\":1.5}]", "[{\"a\":1e3}]", "[{\"a\":01}]", "[{\"a\":-}]",
                   "[{\"a\":-0}]", "[{\"a\":99999999999999999999}]", "[{\"a\":[1]}]", "[{\"a\":{}}]", "[{\"a\":1,\"a\":2}]",
                   "[{\"a\":\"\\ud83d\"}]", "[{\"a\":\"\\x\"}]", "[{\"a\":\"\u{1}\"}]", "[{\"a\" 1}]", "[{a:1}]", "[{\"a\":tru}]",
                   "[{\"a\":nul}]", "[] x", "[{\"a\":\"b}]"]
        for text in odd {
            #expect(JSONRows.flatObjects(text) == nil, "\(text)")
        }
        #expect(JSONRows.flatObjects(" [ ] ") == [])
        #expect(JSONRows.flatObjects(#"[{"a" : -9223372036854775808, "b" : 9223372036854775807}]"#) == [["a": .integer(.min), "b": .integer(.max)]])
        #expect(JSONRows.flatObjects(#"[{"a":"\ud83d\ude00"}]"#) == decoded(#"[{"a":"\ud83d\ude00"}]"#))
    }

    @Test("an id column reads as UUID(uuidString:) reads it: either case, other texts, null and a number")
    func ids() throws {
        let id = UUID()
        let texts = [id.uuidString, id.uuidString.lowercased(), "6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "6ba7b810-9dad-11d1-80b4-00c04fd430c",
                     "6ba7b810-9dad-11d1-80b4-00c04fd430c8 ", "6ba7b8109dad11d180b400c04fd430c8", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
                     "6ba7b810-9dad-11d1-80b4_00c04fd430c8", "6ba7b810-9dad-11d1-80b4-00c04fd430cg", ""]
        for engine in [SQLEngine.sqlite, .postgres] {
            for text in texts {
                let json = String(decoding: try JSONEncoder().encode([["id": text]]), as: UTF8.self)
                let row = try #require(try JSONRows.rows(json, dates: [], engine: engine).first)
                #expect((try? row.decode(column: "id", as: UUID.self)) == UUID(uuidString: text), "\(text)")
                // `try?` flattens: nil where the text is no id, as where it throws.
                #expect((try? row.decode(column: "id", as: UUID?.self)) == UUID(uuidString: text), "\(text)")
            }
            let others = try JSONRows.rows(#"[{"id":null,"n":7}]"#, dates: [], engine: engine)[0]
            #expect(try others.decode(column: "id", as: UUID?.self) == nil)
            #expect((try? others.decode(column: "n", as: UUID.self)) == nil)
            #expect((try? others.decode(column: "id", as: UUID.self)) == nil)
        }
    }

    @Test("a row's values read directly are what Decodable reads, or its error: every kind, varied values, dates or not, both engines")
    func directAsDecodable() throws {
        let scalars: [JSONRows.Scalar] = [
            .null, .bool(true), .bool(false), .integer(0), .integer(1), .integer(-5), .integer(.max), .integer(.min), .integer(788_918_400_123_456),
            .double(1.5), .string(""), .string("abc"), .string("1712345678.123456"), .string("-3.5"), .string(UUID().uuidString),
            .string(UUID().uuidString.lowercased()), .string("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}"),
        ]
        for engine in [SQLEngine.sqlite, .postgres] {
            for isDate in [false, true] {
                for scalar in scalars {
                    let row = JSONRows.Row(values: ["c": scalar], dates: isDate ? ["c"] : [], engine: engine)
                    same(row, String.self); same(row, String?.self); same(row, UUID.self); same(row, UUID?.self)
                    same(row, Date.self); same(row, Date?.self); same(row, Int.self); same(row, Int?.self)
                    same(row, Int64.self); same(row, Int64?.self); same(row, Bool.self); same(row, Bool?.self)
                }
            }
        }
    }

    private func same<T: Decodable & Equatable>(_ row: JSONRows.Row, _ type: T.Type) {
        let direct = Result { try row.decode(column: "c", as: T.self) }
        let general = Result { try row.decodeThroughDecoder(column: "c", as: T.self) }
        switch (direct, general) {
        case (.success(let read), .success(let expected)): #expect(read == expected, "\(T.self) \(row.values) \(row.engine)")
        case (.failure(let read), .failure(let expected)): #expect("\(read)" == "\(expected)", "\(T.self) \(row.values)")
        default: Issue.record("\(T.self) \(row.values) \(row.engine) \(row.dates): \(direct) against \(general)")
        }
    }
}
