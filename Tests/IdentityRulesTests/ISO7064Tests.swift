import Foundation
import Testing
@testable import IdentityRules

@Suite("ISO 7064 MOD 11-2")
struct ISO7064Tests {
    @Test("the check character of the standard's examples is reproduced", arguments: [
        ("11010519491231002", "X"),
        ("44052418800101001", "4"),
    ])
    func knownExamples(body: String, check: String) {
        #expect(ISO7064.mod11_2CheckCharacter(for: body) == Character(check))
    }

    @Test("every valid number in python-stdnum's examples has a matching check character")
    func stdnumValidExamples() throws {
        let url = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/ric_valid.txt")
        let numbers = try String(contentsOf: url, encoding: .utf8)
            .split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .compactMap { $0.split(separator: "\t").first.map(String.init) }
            .filter { $0.count == 18 }
        #expect(numbers.count > 3)
        for number in numbers {
            #expect(ISO7064.mod11_2CheckCharacter(for: number.prefix(17)) == number.uppercased().last, "\(number)")
        }
    }

    @Test("inputs that are not 17 digits have no check character", arguments: [
        "", "1101051949123100", "110105194912310021", "1101051949123100A", "１１０１０５１９４９１２３１００２",
    ])
    func rejectsNonDigits(input: String) {
        #expect(ISO7064.mod11_2CheckCharacter(for: input) == nil)
    }
}
