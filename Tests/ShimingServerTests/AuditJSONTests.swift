import Foundation
import Testing
@testable import ShimingServer

/// `AuditJSON` writes the audit chain's JSON directly; the hashes of the events already in a
/// chain depend on its bytes being `JSONEncoder`'s.
@Suite("Audit JSON")
struct AuditJSONTests {
    private func encoded<T: Encodable>(_ value: T, _ formatting: JSONEncoder.OutputFormatting = []) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = formatting
        return Array(try encoder.encode(value))
    }

    @Test("an array of strings is JSONEncoder's, byte for byte, for every character of the Basic Multilingual Plane and beyond it")
    func arrays() throws {
        var scalars = (0..<0xD800).compactMap(Unicode.Scalar.init) + (0xE000...0xFFFF).compactMap(Unicode.Scalar.init)
        scalars += stride(from: 0x10000, through: 0x10FFFF, by: 97).compactMap { Unicode.Scalar(UInt32($0)) }
        // Each alone, and runs of 61 side by side.
        let single = scalars.map { String(Character($0)) }
        let runs = stride(from: 0, to: scalars.count, by: 61).map { start in
            String(String.UnicodeScalarView(scalars[start..<min(start + 61, scalars.count)]))
        }
        #expect(AuditJSON.array(single) == (try encoded(single)))
        #expect(AuditJSON.array(runs) == (try encoded(runs)))
        for fields in [[], [""], ["a/b", "\"q\"", "\\", "\u{7F}", "陈志远", "{\"program\":\"p1\"}"]] {
            #expect(AuditJSON.array(fields) == (try encoded(fields)), "\(fields)")
        }
    }

    @Test("a map of strings is JSONEncoder's with sorted keys and slashes unescaped, byte for byte, for random maps")
    func objects() throws {
        var random = SeededRandom(state: 20261203)
        let pieces = ["a", "B", "z", "Z", "0", "9", "10", "_", "-", "/", ".", "é", "中", "文", "😀", "\"", "\\", "\n", "\t", "\u{1}", "\u{1F}", " ",
                      "key", "program", "renews"]
        func text(_ count: Int) -> String { (0..<count).map { _ in pieces.randomElement(using: &random)! }.joined() }
        for _ in 0..<2_000 {
            var map: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...8, using: &random) { map[text(Int.random(in: 0...4, using: &random))] = text(Int.random(in: 0...12, using: &random)) }
            let expected = String(decoding: try encoded(map, [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
            #expect(AuditJSON.object(map) == expected)
        }
    }
}
