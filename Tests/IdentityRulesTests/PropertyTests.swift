import PropertyBased
import Testing
@testable import IdentityRules

/// Generated numbers: built from parts that are valid by construction, so the properties
/// below say something about every number, not only the corpus.
enum Generated {
    /// Codes in use (so any birth year is fine).
    static let activeCodes: [Int] = RegionTable.allCodes.filter {
        RegionTable.lastYearMarker($0) == RegionTable.activeMarker && $0 / 10_000 < 81
    }

    /// A valid 18-character resident ID number: region, birth date within 1900…today, sequence.
    static func residentID(codeIndex: Int, dayOffset: Int, sequence: Int) -> String {
        let code = activeCodes[codeIndex % activeCodes.count]
        // Days since 1900-01-01, kept within the corpus's "today".
        let epoch1900: Int64 = -2_208_988_800
        let date = CivilDate(unixSeconds: epoch1900 + Int64(dayOffset) * 86_400, utcOffsetSeconds: 0)
        let body = String(code) + String(date.description.filter(\.isNumber)) + pad(sequence, 3)
        return body + String(ISO7064.mod11_2CheckCharacter(for: body)!)
    }

    /// A valid USCC: authority 9 type 1, a province-level region, any organisation code.
    static func uscc(orgCode: [Int], province: Int) -> String {
        let alphabet = UnifiedSocialCreditCode.alphabet
        var bytes = Array("91".utf8) + Array(pad(province, 2).utf8) + Array("0000".utf8)
        bytes += orgCode.map { alphabet[$0 % alphabet.count] }
        let sum = bytes.enumerated().reduce(0) { $0 + Int(UnifiedSocialCreditCode.values[Int($1.element)]) * UnifiedSocialCreditCode.weights[$1.offset] }
        bytes.append(alphabet[(31 - sum % 31) % 31])
        return String(decoding: bytes, as: UTF8.self)
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    static let days1900ToToday = 46_345  // days from 1900-01-01 to 2026-11-21
}

@Suite("Properties of generated numbers")
struct PropertyTests {
    let today = Fixtures.today

    @Test("a generated valid resident ID number always validates, with its parts as facts")
    func generatedValid() async {
        await propertyCheck(
            count: 2000,
            input: Gen.int(in: 0...100_000), Gen.int(in: 0...Generated.days1900ToToday), Gen.int(in: 0...999)
        ) { codeIndex, days, sequence in
            let number = Generated.residentID(codeIndex: codeIndex, dayOffset: days, sequence: sequence)
            let facts = try? ResidentIDNumber.validate(number, today: today)
            #expect(facts != nil, "\(number)")
            #expect(facts?.gender == (sequence % 2 == 1 ? .male : .female))
            #expect(facts?.regionCodeText == String(number.prefix(6)))
        }
    }

    @Test("changing any one character of a valid number never gives a valid number")
    func singleSubstitution() async {
        let replacements = Array("0123456789X")
        await propertyCheck(
            count: 3000,
            input: Gen.int(in: 0...100_000), Gen.int(in: 0...Generated.days1900ToToday), Gen.int(in: 0...999),
            Gen.int(in: 0...17), Gen.int(in: 0...10)
        ) { codeIndex, days, sequence, position, replacementIndex in
            let number = Array(Generated.residentID(codeIndex: codeIndex, dayOffset: days, sequence: sequence))
            var changed = number
            let replacement = replacements[replacementIndex]
            guard replacement != number[position], position == 17 || replacement != "X" else { return }
            changed[position] = replacement
            #expect(!ResidentIDNumber.isValid(String(changed), today: today), "\(String(number)) → \(String(changed))")
        }
    }

    @Test("swapping two different neighbouring digits never gives a valid number")
    func adjacentTransposition() async {
        await propertyCheck(
            count: 2000,
            input: Gen.int(in: 0...100_000), Gen.int(in: 0...Generated.days1900ToToday), Gen.int(in: 0...999), Gen.int(in: 0...16)
        ) { codeIndex, days, sequence, position in
            var number = Array(Generated.residentID(codeIndex: codeIndex, dayOffset: days, sequence: sequence))
            guard number[position] != number[position + 1] else { return }
            number.swapAt(position, position + 1)
            #expect(!ResidentIDNumber.isValid(String(number), today: today), "\(String(number))")
        }
    }

    @Test("a generated USCC validates, and any one changed character breaks it")
    func usccProperties() async {
        let alphabet = UnifiedSocialCreditCode.alphabet
        await propertyCheck(
            count: 2000,
            input: Gen.int(in: 0...30).array(of: 9), Gen.element(of: [11, 31, 44, 65]), Gen.int(in: 2...17), Gen.int(in: 0...30)
        ) { orgCode, province, position, replacement in
            let code = Generated.uscc(orgCode: orgCode, province: province ?? 11)
            #expect(UnifiedSocialCreditCode.isValid(code), "\(code)")
            var bytes = Array(code.utf8)
            guard alphabet[replacement] != bytes[position] else { return }
            bytes[position] = alphabet[replacement]
            let changed = String(decoding: bytes, as: UTF8.self)
            #expect(!UnifiedSocialCreditCode.isValid(changed), "\(code) → \(changed)")
        }
    }
}
