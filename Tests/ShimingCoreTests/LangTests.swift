import Foundation
import Testing
@testable import ShimingCore

@Suite("Language negotiation")
struct LangTests {
    @Test("Accept-Language picks the supported language with the highest quality", arguments: [
        ("en-US,en;q=0.9", Lang.en),
        ("zh-CN,zh;q=0.9,en;q=0.8", .zhCN),
        ("fr-FR,en;q=0.5,zh;q=0.7", .zhCN),
        ("fr-FR,en;q=0.5", .en),
        ("zh-TW", .zhCN),
        ("en;q=0.8, zh-Hans;q=0.9", .zhCN),
        ("zh;q=0, en", .en),
    ])
    func negotiation(header: String, expected: Lang) {
        #expect(Lang.negotiate(acceptLanguage: header) == expected)
    }

    @Test("headers naming no supported language give no answer", arguments: ["fr, de;q=0.5", "", "*", "zh;q=0"])
    func unsupported(header: String) {
        #expect(Lang.negotiate(acceptLanguage: header) == nil)
    }

    @Test("a localised text answers in the asked language")
    func localizedText() {
        let text = LocalizedText("你好", "Hello")
        #expect(text(.zhCN) == "你好")
        #expect(text(.en) == "Hello")
        #expect(Lang.default == .zhCN)
    }
}

@Suite("Injected time and randomness")
struct TimeTests {
    @Test("a manual clock stands still until moved")
    func manualClock() {
        let start = Date(timeIntervalSince1970: 1_795_248_000)
        let clock = ManualClock(start)
        #expect(clock.now() == start)
        clock.advance(by: 90)
        #expect(clock.now() == start.addingTimeInterval(90))
        clock.set(start)
        #expect(clock.now() == start)
    }

    /// Bytes from a fixed list, so that rejection sampling can be observed.
    struct ScriptedRandom: RandomSource {
        let values: [[UInt8]]
        let counter = Counter()
        final class Counter: @unchecked Sendable {
            private let lock = NSLock()
            private var n = 0
            func next() -> Int { lock.withLock { defer { n += 1 }; return n } }
        }
        func bytes(_ count: Int) -> [UInt8] { values[counter.next()] }
    }

    @Test("uniform sampling rejects values in the biased tail instead of wrapping them")
    func uniformRejectsBias() {
        // 0xFFFFFFFF lies above the largest multiple of 10 and must be drawn again.
        let random = ScriptedRandom(values: [[0xFF, 0xFF, 0xFF, 0xFF], [7, 0, 0, 0]])
        #expect(random.uniform(below: 10) == 7)
    }

    @Test("uniform sampling stays below its bound")
    func uniformBound() {
        let random = SystemRandom()
        for _ in 0..<1000 {
            #expect(random.uniform(below: 6) < 6)
        }
        #expect(random.bytes(32).count == 32)
    }
}
