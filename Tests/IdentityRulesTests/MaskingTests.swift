import PropertyBased
import Testing
@testable import IdentityRules

@Suite struct MaskingTests {
    /// The rule as first written, over characters: the fast path must give the same text.
    static func reference(first: Int, last: Int, of text: String) -> String {
        let characters = Array(text)
        var first = first, last = last
        let mustHide = (characters.count + 2) / 3
        while characters.count - first - last < mustHide, first + last > 0 {
            if first >= last { first -= 1 } else { last -= 1 }
        }
        return String(characters.prefix(first)) + String(repeating: "*", count: characters.count - first - last)
            + String(characters.suffix(last))
    }

    @Test("masking over scalars gives what masking over characters gives, for 3,000 seeded texts of numbers, names and addresses, and for texts with joining marks")
    func scalarsAsCharacters() {
        let simple: [String] = ["1", "X", "x", " ", "-", "陈", "欧", "阳", "·", "区", "号", "Ａ", "１", "㐀"]
        let joining: [String] = ["e\u{301}", "\r\n", "👍🏽", "🇨🇳", "\u{302A}", "各\u{E0100}", "한"]
        var generator = Xoshiro(seed: (2026, 12, 4, 35))  // the same texts on every run
        for round in 0..<3000 {
            let length = Int(generator.next() % 24)
            var text = ""
            for _ in 0..<length { text += simple[Int(generator.next() % UInt64(simple.count))] }
            let joined = round % 5 == 0 && !text.isEmpty
            if joined { text += joining[Int(generator.next() % UInt64(joining.count))] }
            for (first, last) in [(6, 4), (2, 2), (4, 4), (1, 0), (6, 0)] {
                #expect(Masking.keep(first: first, last: last, of: text) == Self.reference(first: first, last: last, of: text), "\(text)")
            }
            let fast = Masking.keep(first: 2, last: 2, ofSingleScalarCharacters: text)
            #expect((fast == nil) == joined, "\(text)")
        }
        #expect(Masking.keep(first: 6, last: 0, of: "上海市黄浦区某路 8 号") == "上海市黄浦区******")
        #expect(Masking.keep(first: 6, last: 4, of: "110101199003074477") == "110101********4477")
    }
}
