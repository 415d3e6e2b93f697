import Foundation
import ShimingCore

/// What the JSON tests share: texts spelled as JSON writers may spell them, and an application.
enum JSONSamples {
    /// A JSON string of `text`, with escapes chosen at random (shorthands or `\u`, surrogate
    /// pairs, `\/`); `odd` adds now and then what `JSONTree` refuses (a lone surrogate, a raw
    /// control character).
    static func spelled(_ text: String, _ random: inout SeededRandom, odd: Bool = false) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += Bool.random(using: &random) ? "\\n" : "\\u000A"
            case "/": out += Bool.random(using: &random) ? "/" : "\\/"
            case "\u{1}" where odd && Int.random(in: 0..<4, using: &random) == 0: out += "\u{1}"
            case "\t" where Bool.random(using: &random): out += "\\t"
            case "\r" where Bool.random(using: &random): out += "\\r"
            case "\u{8}" where Bool.random(using: &random): out += "\\b"
            case "\u{C}" where Bool.random(using: &random): out += "\\f"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            case _ where scalar.value >= 0x10000 && Bool.random(using: &random):
                let value = scalar.value - 0x10000
                out += String(format: "\\u%04X\\u%04x", 0xD800 + (value >> 10), 0xDC00 + (value & 0x3FF))
            case _ where scalar.value < 0x10000 && Int.random(in: 0..<8, using: &random) == 0: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        if odd && Int.random(in: 0..<20, using: &random) == 0 { out += "\\ud83d" }
        return out + "\""
    }

    /// An application with Chinese text, a slash, a line break and quotation marks.
    static var application: CaseApplication {
        var application = CaseApplication()
        application.identity.name = "陈桂芳"
        application.identity.documentNumber = "11010519491231002X"
        application.identity.address = "北京市西城区某某街道 1 号/2 室\n\"东\""
        application.school = CaseApplication.School(school: "第一中学", enrolmentYear: 2024)
        return application
    }
}
