import Testing
@testable import IdentityRules

@Suite("Other documents, contacts and names")
struct OtherDocumentTests {
    let today = Fixtures.today

    @Test("every row of other_docs_vectors.tsv gets the expected verdict")
    func sharedVectors() throws {
        let rows = try Fixtures.rows("other_docs_vectors.tsv", header: true)
        #expect(rows.count == 34)
        for row in rows {
            let (number, docType, expected) = (row[0], row[1], row[2] == "1")
            let selection = try #require(DocumentCheck.Selection(argument: docType), "\(docType)")
            let result = DocumentCheck.check(number, as: selection, today: today)
            #expect(result.isValid == expected, "\(number) (\(docType)): \(result.error?.rawValue ?? "valid") — \(row[3])")
            if expected {
                let auto = DocumentCheck.check(number, today: today)
                #expect(auto.type?.rawValue == docType, "detected \(number) as \(auto.type?.rawValue ?? "nothing")")
                #expect(auto.isValid)
            }
        }
    }

    @Test("every valid code in uscc_valid.txt validates")
    func usccValid() throws {
        let rows = try Fixtures.rows("uscc_valid.txt", header: false)
        #expect(rows.count == 202)
        for row in rows {
            #expect(UnifiedSocialCreditCode.isValid(row[0]), "\(row[0])")
        }
    }

    @Test("USCC rules report their own errors", arguments: [
        ("12345", DocumentError.invalidLength),
        ("A1110000600037341L", .invalidChecksum),       // letter authority codes exist; this check is wrong
        ("9111000060003IOZSV", .invalidFormat),         // I, O, Z, S, V are not in the alphabet
        ("91110000600037341N", .invalidChecksum),
        ("91110000600037341l", .invalidFormat),         // capitals only
        ("9A110000600037341L", .invalidComponent),      // no type A under authority 9
        ("B1110000600037341L", .invalidComponent),      // no authority B
        ("9199000060003734XX", .unknownRegion),         // province 99
    ])
    func usccErrors(input: String, error: DocumentError) {
        #expect(throws: error) { try UnifiedSocialCreditCode.validate(input) }
    }

    @Test("every code in uscc_invalid.txt is refused")
    func usccInvalidFile() throws {
        let rows = try Fixtures.rows("uscc_invalid.txt", header: false)
        #expect(rows.count == 4)
        for row in rows {
            #expect(!UnifiedSocialCreditCode.isValid(row[0]), "\(row[0])")
        }
    }

    @Test("USCC helpers format, mask and read the region")
    func usccHelpers() {
        #expect(UnifiedSocialCreditCode.format("91110000600037341L") == "91 110000 600037341 L")
        #expect(UnifiedSocialCreditCode.mask("91110000600037341L") == "9111**********341L")
        #expect(UnifiedSocialCreditCode.regionCode("91 110000 600037341L") == "110000")
    }

    @Test("mobile numbers: prefixes and separators are normalised, segments checked", arguments: [
        ("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 13800138000", "13800138000"),
        ("8613800138000", "13800138000"), ("(138) 0013 8000", "13800138000"), ("１９９１２３４５６７８", "19912345678"),
        ("16612345678", "16612345678"), ("17012345678", "17012345678"),
    ])
    func mobileValid(input: String, normalized: String) throws {
        #expect(try MobileNumber.validate(input) == normalized)
    }

    @Test("mobile numbers that cannot receive a code are refused", arguments: [
        ("1380013800", DocumentError.invalidLength), ("138001380000", .invalidLength), ("23800138000", .invalidFormat),
        ("12345678901", .invalidComponent), ("14012345678", .invalidComponent), ("19412345678", .invalidComponent),
        ("1380013800a", .invalidFormat),
    ])
    func mobileInvalid(input: String, error: DocumentError) {
        #expect(throws: error) { try MobileNumber.validate(input) }
    }

    @Test("mobile numbers mask and format")
    func mobileDisplay() {
        #expect(MobileNumber.mask("+86 13800138000") == "138****8000")
        #expect(MobileNumber.format("13800138000") == "138 0013 8000")
    }

    @Test("e-mail addresses: valid ones, with the domain lower-cased", arguments: [
        ("li.ming@example.com", "li.ming@example.com"), ("Li@Example.COM", "Li@example.com"),
        ("wang＋tag＠qq.com", "wang+tag@qq.com"), (" zhang_san@mail.school.edu.cn ", "zhang_san@mail.school.edu.cn"),
        ("a@b.cn", "a@b.cn"), ("x@xn--fiqs8s.xn--fiqs8s", "x@xn--fiqs8s.xn--fiqs8s"),
    ])
    func emailValid(input: String, normalized: String) throws {
        #expect(try EmailAddress.validate(input) == normalized)
    }

    @Test("e-mail addresses that cannot be delivered to are refused", arguments: [
        "a@b.c", "plainaddress", "a..b@example.com", ".a@example.com", "a.@example.com", "a@@example.com",
        "a@-example.com", "a@example-.com", "a@example.c1", "a@example", "a@exa_mple.com", "\"a\"@example.com",
        String(repeating: "a", count: 65) + "@example.com",
    ])
    func emailInvalid(input: String) {
        #expect(!EmailAddress.isValid(input), "\(input)")
    }

    @Test("e-mail masking keeps the first letter and the domain")
    func emailMask() {
        #expect(EmailAddress.mask("liming@example.com") == "l***@example.com")
    }

    @Test("names in Han characters, with middle dots, or in Latin letters", arguments: [
        ("张三", "张三"), ("欧阳娜娜", "欧阳娜娜"), ("阿沛·阿旺晋美", "阿沛·阿旺晋美"), ("阿沛•阿旺晋美", "阿沛·阿旺晋美"),
        ("阿沛.阿旺晋美", "阿沛·阿旺晋美"), ("阿沛・阿旺晋美", "阿沛·阿旺晋美"), (" 张 三 ", "张三"), ("𠮷田", "𠮷田"),
        ("ＪＯＨＮ　ＳＭＩＴＨ", "JOHN SMITH"), ("Zoë  O'Neil-Smith", "Zoë O'Neil-Smith"), ("J. R. Tolkien", "J. R. Tolkien"),
    ])
    func namesValid(input: String, normalized: String) throws {
        #expect(try PersonalName.validate(input) == normalized)
    }

    @Test("names that cannot be on a document are refused", arguments: [
        ("张", DocumentError.invalidLength), ("", .invalidLength), (String(repeating: "张", count: 41), .invalidLength),
        ("张3", .invalidFormat), ("张Smith", .invalidFormat), ("·张三", .invalidFormat), ("张三·", .invalidFormat),
        ("张··三", .invalidFormat), ("-John", .invalidFormat), ("John--Smith", .invalidFormat), ("John_Smith", .invalidFormat),
    ])
    func namesInvalid(input: String, error: DocumentError) {
        #expect(throws: error) { try PersonalName.validate(input) }
    }

    @Test("names mask all but the first character")
    func nameMask() {
        #expect(PersonalName.mask("张三") == "张*")
        #expect(PersonalName.mask("阿沛·阿旺晋美") == "阿******")
        #expect(PersonalName.mask(" 张三 ") == "张*")
        #expect(PersonalName.mask("〇") == "〇*")
        #expect(PersonalName.mask("") == "")
    }

    /// A name of Han characters alone is masked without compacting it: the same as compacting it
    /// first, for every Han range, lengths from 1 to 8, and names with anything else beside them.
    @Test("a name of Han characters alone masks as its compact form does")
    func hanNameMask() {
        let ranges: [ClosedRange<UInt32>] = [0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2EBEF, 0x2EBF0...0x2EE5F,
                                             0x30000...0x323AF, 0xF900...0xFAFF, 0x2F800...0x2FA1F, 0x3007...0x3007]
        let others = [" ", "·", ".", "\u{3000}", "\u{0301}", "A", "\u{FF0E}", "\u{00B7}"]
        var state: UInt64 = 54
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<2_000 {
            var name = String.UnicodeScalarView()
            for _ in 0..<(1 + next(8)) {
                let range = ranges[next(ranges.count)]
                name.append(Unicode.Scalar(range.lowerBound + UInt32(next(Int(range.upperBound - range.lowerBound) + 1)))!)
            }
            var text = String(name)
            if next(3) == 0 {
                var scalars = Array(text.unicodeScalars)
                scalars.insert(contentsOf: others[next(others.count)].unicodeScalars, at: next(scalars.count + 1))
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars)
                text = String(view)
            }
            let compact = PersonalName.compact(text)
            let expected = compact.first.map { String($0) + String(repeating: "*", count: max(1, compact.count - 1)) } ?? ""
            #expect(PersonalName.mask(text) == expected, "\(text.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }

    @Test("passport and permit masks keep two characters at each end")
    func documentMasks() {
        #expect(PassportNumber.mask("E12345678") == "E1*****78")
        #expect(HKMacaoTravelPermit.mask("H12345678") == "H1*****78")
        #expect(ForeignPermanentResidentID.mask("USA118503120011") == "USA1*******0011")
    }

    @Test("the type is detected from the shape", arguments: [
        ("11010519491231002X", DocumentType?.some(.residentID)), ("110105194912310021", .residentID),
        ("360426910101007", .residentID15), ("810000198001011236", .hmtResidencePermit),
        ("91184019850312001X", .foreignPermanentResident2023), ("USA118503120011", .foreignPermanentResidentOld),
        ("91110000600037341L", .unifiedSocialCreditCode), ("911522010783762860", .unifiedSocialCreditCode),
        ("E12345678", .passport), ("EA1234567", .passport), ("H12345678", .hkMacaoTravelPermit),
        ("H1234567801", .hkMacaoTravelPermit), ("12345678", .taiwanCompatriotPermit), ("13800138000", .mobile),
        ("+86 138 0013 8000", .mobile), ("li@example.com", .email), ("张三", .personalName),
        ("1101051949123100", .residentID), ("abc123", nil), ("", nil),
    ])
    func detection(input: String, type: DocumentType?) {
        #expect(DocumentCheck.detect(input) == type)
    }

    @Test("the hmt selection refuses an ordinary resident ID number")
    func hmtSelection() {
        #expect(DocumentCheck.check("11010519491231002X", as: .hmt, today: today).error == .unknownRegion)
        #expect(DocumentCheck.check("810000198001011236", as: .hmt, today: today).isValid)
    }
}

@Suite("Every document has the same verbs")
struct VerbTests {
    @Test("compact, validate, isValid, format and mask agree for each type")
    func verbs() throws {
        let today = Fixtures.today
        #expect(PassportNumber.isValid(" E1234 5678 ") && PassportNumber.format(" E1234 5678 ") == "E12345678")
        #expect(HKMacaoTravelPermit.isValid("H-1234-5678") && HKMacaoTravelPermit.format("H-1234-5678") == "H12345678")
        #expect(TaiwanCompatriotPermit.isValid("1234 5678") && TaiwanCompatriotPermit.format("1234 5678") == "12345678")
        #expect(ForeignPermanentResidentID.isValid("91184019850312001x", today: today))
        #expect(ForeignPermanentResidentID.format("91184019850312001x") == "91184019850312001X")
        #expect(EmailAddress.format(" Li@Example.COM ") == "Li@example.com")
        #expect(PersonalName.format(" 阿沛 • 阿旺晋美 ") == "阿沛·阿旺晋美")
        #expect(!PassportNumber.isValid("EI1234567"))
    }
}
