import Foundation
import ShimingCore
import Testing
@testable import ShimingServer

@Suite("Check results written directly")
struct CheckResultsJSONTests {
    private func encoded(_ checks: [CheckResult]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(checks), as: UTF8.self)
    }

    @Test("the bytes SortedJSON and JSONEncoder write: seeded random results, every member present or absent, odd texts")
    func sameBytes() throws {
        var random = SeededRandom(state: 20261206)
        let pieces = ["ok", "registry", "a/b", "中文", "😀", " ", "\"", "\\", "\n", "\u{1}", "\u{7f}", "\u{2028}", "</script>", "9/5/365", ""]
        func text() -> String {
            (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
        }
        func texts() -> [String]? {
            Bool.random(using: &random) ? nil : (0..<Int.random(in: 0...3, using: &random)).map { _ in text() }
        }
        for _ in 0..<2_000 {
            let checks = (0..<Int.random(in: 0...7, using: &random)).map { _ in
                CheckResult(check: text(), code: text(), passed: Bool.random(using: &random),
                            field: Bool.random(using: &random) ? text() : nil,
                            disposition: [nil, .fix, .review].randomElement(using: &random)!,
                            detail: Bool.random(using: &random) ? text() : nil, matched: texts(), differed: texts())
            }
            let direct = CheckResultsJSON.text(checks)
            #expect(direct == String(decoding: try SortedJSON(escapesSlashes: true).encode(checks), as: UTF8.self))
            #expect(direct == (try encoded(checks)))
            #expect(try StoredJSON.text(checks) == direct)
            #expect(try StoredJSON.decode([CheckResult].self, from: direct) == checks)
        }
        #expect(CheckResultsJSON.text([]) == "[]")
        #expect(CheckResultsJSON.text([.ok("registry", matched: ["name", "number"])])
            == #"[{"check":"registry","code":"ok","matched":["name","number"],"passed":true}]"#)
    }
}

@Suite("Outbox payloads written directly")
struct OutboxPayloadJSONTests {
    @Test("a message reads back as it was, and as JSONEncoder's text of it reads: seeded random messages, every member present or absent")
    func roundTrip() throws {
        var random = SeededRandom(state: 20261207)
        let pieces = ["13800138000", "a@example.com", "https://shop.example/hooks?a=1&b=/c", "您的验证码是 246810。", "😀", "\"", "\\", "\n", "\u{1}", ""]
        func text() -> String { (0..<Int.random(in: 0...3, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined() }
        func maybe() -> String? { Bool.random(using: &random) ? text() : nil }
        for _ in 0..<500 {
            var message = OutgoingMessage(channel: OutgoingMessage.Channel.allCases.randomElement(using: &random)!, to: text(), template: text(),
                                          subject: maybe(), text: text(), html: maybe(), code: maybe(),
                                          platform: Bool.random(using: &random) ? UUID() : nil, deliveryID: Bool.random(using: &random) ? UUID() : nil)
            message.account = Bool.random(using: &random) ? UUID() : nil
            let direct = String(decoding: try Outbox.json(message), as: UTF8.self)
            let encoded = String(decoding: try JSONEncoder().encode(message), as: UTF8.self)
            #expect(try DirectJSON.decode(OutgoingMessage.self, from: direct, iso8601Dates: false) == message)
            #expect(try DirectJSON.decode(OutgoingMessage.self, from: encoded, iso8601Dates: false) == message)
            #expect(try JSONDecoder().decode(OutgoingMessage.self, from: Data(direct.utf8)) == message)
        }
    }
}
