import Foundation
import ShimingCore
import Testing
@testable import ShimingServer

/// `CaseApplication(stored:)` must read a stored application exactly as `JSONDecoder` does, or
/// give up (nil) so that the general decoding answers.
@Suite("A stored application read straight from its JSON tree")
struct CaseApplicationStoredTests {
    private static let texts = ["张三", "Li Lei", "", "110101200001011234", "a\"b\\c", "😀", "13800138000", "x@example.com"]

    private static func someText(_ random: inout SeededRandom) -> String? {
        Int.random(in: 0..<4, using: &random) == 0 ? nil : texts.randomElement(using: &random)!
    }

    private static func someApplication(_ random: inout SeededRandom) -> CaseApplication {
        var app = CaseApplication(identity: .init(name: someText(&random), documentType: someText(&random), documentNumber: someText(&random),
                                                  gender: someText(&random), address: someText(&random)))
        if Bool.random(using: &random) { app.contact = .init(phone: someText(&random), email: someText(&random)) }
        if Bool.random(using: &random) {
            app.school = .init(school: someText(&random), grade: someText(&random), class: someText(&random),
                               enrolmentYear: Bool.random(using: &random) ? Int.random(in: -3000...3000, using: &random) : nil)
        }
        if Bool.random(using: &random) {
            app.guardian = .init(name: someText(&random), phone: someText(&random), relation: someText(&random), documentNumber: someText(&random))
        }
        if Bool.random(using: &random) { app.organisation = .init(name: someText(&random), creditCode: someText(&random), representative: someText(&random)) }
        return app
    }

    private static func decoded(_ json: String) -> CaseApplication? {
        try? JSONDecoder().decode(CaseApplication.self, from: Data(json.utf8))
    }

    @Test("what the app stores reads back whole, equal to JSONDecoder's reading")
    func storedForms() throws {
        var random = SeededRandom(state: 54)
        for _ in 0..<400 {
            let app = Self.someApplication(&random)
            let json = String(decoding: try JSONEncoder().encode(app), as: UTF8.self)
            let read = try #require(CaseApplication(stored: try JSONTree.parse(json)), "\(json)")
            #expect(read == app)
            #expect(read == Self.decoded(json))
        }
    }

    /// Members replaced by nulls, other types, unknown members, or removed: whatever it reads
    /// is what `JSONDecoder` reads, and it reads every form `JSONDecoder` reads without a
    /// number it leaves to it.
    @Test("altered forms: its reading is JSONDecoder's, or none")
    func alteredForms() throws {
        var random = SeededRandom(state: 5_454)
        let odd = ["null", "1", "-0", "2.5", "1e3", "true", "\"x\"", "[]", "{}", "{\"name\":3}", "{\"phone\":null,\"extra\":[1]}",
                   "99999999999999999999", "-12"]
        var readBoth = 0, leftToDecoder = 0
        for _ in 0..<600 {
            let app = Self.someApplication(&random)
            var object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(app)) as? [String: Any])
            // Alter one member at the top or one level down.
            let sections = ["identity", "contact", "school", "guardian", "organisation", "unknown"]
            let section = sections.randomElement(using: &random)!
            let value = try JSONSerialization.jsonObject(with: Data(odd.randomElement(using: &random)!.utf8), options: .fragmentsAllowed)
            if Bool.random(using: &random) || object[section] == nil {
                if Int.random(in: 0..<5, using: &random) == 0 { object[section] = nil } else { object[section] = value }
            } else if var inner = object[section] as? [String: Any] {
                let keys = ["name", "phone", "email", "school", "grade", "class", "enrolmentYear", "relation", "documentNumber", "creditCode",
                            "representative", "documentType", "gender", "address", "other"]
                inner[keys.randomElement(using: &random)!] = value
                object[section] = inner
            }
            let json = String(decoding: try JSONSerialization.data(withJSONObject: object, options: .fragmentsAllowed), as: UTF8.self)
            let read = (try? JSONTree.parse(json)).flatMap(CaseApplication.init(stored:))
            let expected = Self.decoded(json)
            if let read {
                #expect(read == expected, "\(json)")
                readBoth += 1
            } else if expected != nil {
                // Only a number JSONDecoder reads differently is left to it.
                #expect(json.contains("enrolmentYear"), "\(json)")
                leftToDecoder += 1
            }
        }
        #expect(readBoth > 200)
        #expect(leftToDecoder < 100)
    }
}
