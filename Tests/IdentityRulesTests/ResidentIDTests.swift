import Testing
@testable import IdentityRules

/// Builds a number with a correct check character from its first 17 digits.
func withCheck(_ body: String) -> String { body + String(ISO7064.mod11_2CheckCharacter(for: body)!) }

@Suite("Resident ID numbers")
struct ResidentIDTests {
    let today = Fixtures.today

    @Test("what people type around a number is normalised", arguments: [
        ("11010519491231002x", "11010519491231002X"),
        ("110105 19491231 002X", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),
        ("  11010519491231002X\t", "11010519491231002X"),
    ])
    func normalisation(input: String, normalized: String) throws {
        #expect(ResidentIDNumber.compact(input) == normalized)
        let facts = try ResidentIDNumber.validate(input, today: today)
        #expect(facts.birthDate == CivilDate(year: 1949, month: 12, day: 31))
        #expect(facts.gender == .female)
        #expect(facts.regionCode == 110105)
        #expect(facts.regionName == "北京市朝阳区")
    }

    @Test("each rule reports its own error", arguments: [
        ("1101051949123100", DocumentError.invalidLength),
        ("1101051949123100211", .invalidLength),
        ("11010519491231002Y", .invalidFormat),
        ("T10105194912310021", .invalidFormat),
        ("110105194912310021", .invalidChecksum),
        (withCheck("11010519491332002"), .invalidBirthDate),   // month 13
        (withCheck("11010519490230002"), .invalidBirthDate),   // 30 February
        (withCheck("11010519000229002"), .invalidBirthDate),   // 1900 is not a leap year
        (withCheck("11010518991231002"), .invalidBirthDate),   // before 1900
        (withCheck("11010520261122002"), .invalidBirthDate),   // tomorrow
        (withCheck("99010519491231002"), .unknownRegion),      // no such province
        (withCheck("11999919491231002"), .unknownRegion),      // province known, county not
        (withCheck("11020119931201007"), .retiredRegion),      // 110201 retired 1982
    ])
    func errors(input: String, error: DocumentError) {
        #expect(throws: error) { try ResidentIDNumber.validate(input, today: today) }
        #expect(!ResidentIDNumber.isValid(input, today: today))
    }

    @Test("birth dates: leap days, the first day of 1900 and today are fine", arguments: [
        "11010520000229002", "11010520040229002", "11010519000101002", "11010520261121002",
    ])
    func validDates(body: String) {
        #expect(ResidentIDNumber.isValid(withCheck(body), today: today))
    }

    @Test("a retired code is valid up to two years after it was retired, then not")
    func retiredCodeGracePeriod() throws {
        // 110201 (昌平县) was in use until 1982.
        #expect(ResidentIDNumber.isValid(withCheck("11020119801201007"), today: today))
        #expect(ResidentIDNumber.isValid(withCheck("11020119841201007"), today: today))
        #expect(throws: DocumentError.retiredRegion) { try ResidentIDNumber.validate(withCheck("11020119851201007"), today: today) }
        let facts = try ResidentIDNumber.validate(withCheck("11020119801201007"), today: today)
        #expect(facts.regionActive == false)
        #expect(facts.region?.lastYear == 1982)
    }

    @Test("a code created after the birth year is valid (the household registered later)")
    func codeCreatedAfterBirth() throws {
        // 110111 房山区 exists since 1986; python-stdnum 2.2 wrongly rejects this.
        let facts = try ResidentIDNumber.validate("110111198012010078", today: today)
        #expect(facts.regionActive)
        #expect(facts.regionName == "北京市房山区")
    }

    @Test("region names follow the period of the birth year")
    func historicalNames() throws {
        #expect(try ResidentIDNumber.validate("120110198012010073", today: today).regionName == "天津市东郊区")
        #expect(try ResidentIDNumber.validate("120110199212010072", today: today).regionName == "天津市东丽区")
    }

    @Test("the sequence code's parity gives the sex")
    func gender() throws {
        #expect(try ResidentIDNumber.validate(withCheck("11010519491231001"), today: today).gender == .male)
        #expect(try ResidentIDNumber.validate(withCheck("11010519491231002"), today: today).gender == .female)
    }

    @Test("residence permits are valid whatever the birth year and name their region")
    func residencePermits() throws {
        for (body, name) in [("81000019400101123", "香港特别行政区"), ("82000019500101123", "澳门特别行政区"), ("83000019600101123", "台湾地区")] {
            let facts = try ResidentIDNumber.validate(withCheck(body), today: today)
            #expect(facts.type == .hmtResidencePermit)
            #expect(facts.regionName == name)
        }
    }

    @Test("15-digit numbers validate (19YY) and convert to 18 characters")
    func legacy() throws {
        let facts = try ResidentIDNumber.validate("360426910101007", today: today)
        #expect(facts.type == .residentID15)
        #expect(facts.birthDate == CivilDate(year: 1991, month: 1, day: 1))
        #expect(facts.gender == .male)
        #expect(try ResidentIDNumber.upgrade("360426910101007", today: today) == withCheck("36042619910101007"))
        #expect(throws: DocumentError.invalidBirthDate) { try ResidentIDNumber.validate("360426911301007", today: today) }
        #expect(throws: DocumentError.invalidFormat) { try ResidentIDNumber.validate("36042691010100A", today: today) }
    }

    @Test("python-stdnum's invalid examples, under Shiming's rule", arguments: [
        ("T60426199101010078", DocumentError?.some(.invalidFormat)),
        ("360426199113010079", .invalidBirthDate),
        ("36042619910102009X", .invalidChecksum),
        ("990426199112010074", .unknownRegion),
        ("110111198012010078", nil),   // stdnum refuses a code created after birth; Shiming accepts
        ("110201199312010077", .retiredRegion),
        ("119999199101010079", .unknownRegion),   // stdnum crashes with KeyError
        ("110199199101010077", .unknownRegion),
        ("360426910101007", nil),   // 15 digits: stdnum refuses the length; Shiming accepts
    ])
    func stdnumInvalidExamples(input: String, expected: DocumentError?) throws {
        let listed = try Fixtures.rows("ric_invalid.txt", header: false).map { $0[0] }
        #expect(listed.contains(input))
        if let expected {
            #expect(throws: expected) { try ResidentIDNumber.validate(input, today: today) }
        } else {
            #expect(ResidentIDNumber.isValid(input, today: today))
        }
    }

    @Test("masking keeps the division code and the last four characters", arguments: [
        ("11010519491231002X", "110105********002X"),
        ("110105 19491231 002x", "110105********002X"),
        ("360426910101007", "360426*****1007"),
        ("1234", "1**4"),
        ("", ""),
    ])
    func masking(input: String, masked: String) {
        #expect(ResidentIDNumber.mask(input) == masked)
    }

    @Test("format groups region, birth date and sequence")
    func format() {
        #expect(ResidentIDNumber.format("11010519491231002x") == "110105 19491231 002X")
        #expect(ResidentIDNumber.format("360426910101007") == "360426 910101 007")
    }

    @Test("age on a date counts completed years; leap-day birthdays turn over on 1 March")
    func age() {
        let birth = CivilDate(year: 2012, month: 2, day: 29)!
        #expect(birth.age(on: CivilDate(year: 2026, month: 2, day: 28)!) == 13)
        #expect(birth.age(on: CivilDate(year: 2026, month: 3, day: 1)!) == 14)
        #expect(birth.age(on: CivilDate(year: 2024, month: 2, day: 29)!) == 12)
        #expect(CivilDate(year: 1990, month: 3, day: 7)!.age(on: CivilDate(year: 1990, month: 3, day: 7)!) == 0)
    }

    @Test("today in China is computed from the instant with UTC+8")
    func chinaDate() {
        // 2026-11-20T16:30:00Z is already 21 November in Beijing.
        #expect(CivilDate(unixSeconds: 1_795_192_200) == CivilDate(year: 2026, month: 11, day: 21))
        #expect(CivilDate(unixSeconds: 1_795_192_200, utcOffsetSeconds: 0) == CivilDate(year: 2026, month: 11, day: 20))
        #expect(CivilDate(unixSeconds: -86_400, utcOffsetSeconds: 0) == CivilDate(year: 1969, month: 12, day: 31))
        #expect(CivilDate(iso: "2024-02-29") == CivilDate(year: 2024, month: 2, day: 29))
        #expect(CivilDate(iso: "2023-02-29") == nil)
        #expect(CivilDate(year: 987, month: 6, day: 5)?.description == "0987-06-05")
    }

    @Test("the region table knows current, retired and renamed codes")
    func regionTable() throws {
        let dongcheng = try #require(RegionTable.region(code: 110101))
        #expect(dongcheng.fullName == "北京市东城区")
        #expect(dongcheng.isActive)
        let chongwen = try #require(RegionTable.region(code: 110103))
        #expect(chongwen.lastYear == 2010)
        #expect(RegionTable.region(code: 110000)?.fullName == "北京市")
        #expect(RegionTable.region(code: 440300)?.fullName == "广东省深圳市")
        #expect(RegionTable.region(code: 119999) == nil)
        #expect(RegionTable.allCodes.count == 6885)
        #expect(RegionTable.isProvince(44))
        #expect(!RegionTable.isProvince(99))
    }
}
