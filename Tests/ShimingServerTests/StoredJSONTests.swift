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
        #expect(StoredJSON.plainList(#"["a","b\/c",""]"#) == ["a", "b/c", ""])
        #expect(StoredJSON.plainList(#"["a\"b"]"#) == nil)
    }
}
