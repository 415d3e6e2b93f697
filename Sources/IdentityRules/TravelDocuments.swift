/// 外国人永久居留身份证 (foreign permanent resident ID), both formats.
public enum ForeignPermanentResidentID {
    /// Removes separators and full-width forms; upper-cases the 2023 format's check `x`.
    /// The 2004 format's nationality letters must already be capitals.
    public static func compact(_ input: String) -> String {
        let compacted = Normalization.compactSeparators(input)
        if compacted.utf8.count == 18, compacted.utf8.last == UInt8(ascii: "x") {
            return String(compacted.dropLast()) + "X"
        }
        return compacted
    }

    /// Validates either format. 2023 (18 characters): `9` · issuing province (2) · nationality
    /// (3 digits) · birth date YYYYMMDD · sequence (3) · MOD 11-2 check character. 2004
    /// (15 characters): nationality (3 capital letters) · issuing province (2) · birth date
    /// YYMMDD · sequence and check (4; the check algorithm is not public).
    public static func validate(_ input: String, today: CivilDate) throws(DocumentError) -> IdentityFacts? {
        let number = compact(input)
        return try Normalization.withBytes(number) { bytes throws(DocumentError) -> IdentityFacts? in
            switch bytes.count {
            case 18:
                guard bytes[0] == UInt8(ascii: "9"), Normalization.allDigits(bytes, 0..<17) else { throw .invalidFormat }
                let last = bytes[17]
                let check: Int
                if Normalization.isDigit(last) { check = Int(last &- 0x30) }
                else if last == UInt8(ascii: "X") { check = 10 }
                else { throw .invalidFormat }
                let province = Normalization.number(bytes, 1..<3)
                let birth = try ResidentIDNumber.birthDate(bytes, at: 6, century: nil, today: today)
                guard RegionTable.isProvince(province) else { throw .unknownRegion }
                guard ISO7064.mod11_2Value(bytes) == check else { throw .invalidChecksum }
                return IdentityFacts(
                    type: .foreignPermanentResident2023, birthDate: birth,
                    gender: (bytes[16] & 1) == 1 ? .male : .female,
                    regionCode: province * 10_000, regionActive: true
                )
            case 15:
                for i in 0..<3 where !Normalization.isUpper(bytes[i]) { throw .invalidFormat }
                guard Normalization.allDigits(bytes, 3..<15) else { throw .invalidFormat }
                guard RegionTable.isProvince(Normalization.number(bytes, 3..<5)) else { throw .unknownRegion }
                // YYMMDD: the century is not printed; the date must exist in one of them.
                let yy = Normalization.number(bytes, 5..<7)
                let month = Normalization.number(bytes, 7..<9), day = Normalization.number(bytes, 9..<11)
                let candidates = [2000 + yy, 1900 + yy].compactMap { CivilDate(year: $0, month: month, day: day) }
                guard candidates.contains(where: { $0 >= CivilDate.earliestBirthDate && $0 <= today }) else {
                    throw .invalidBirthDate
                }
                return nil
            default:
                throw .invalidLength
            }
        }
    }

    /// Whether the number is valid.
    public static func isValid(_ input: String, today: CivilDate) -> Bool { (try? validate(input, today: today)) != nil }

    /// The number as printed: compact, no grouping.
    public static func format(_ input: String) -> String { compact(input) }

    /// Keeps the first 4 and last 4 characters.
    public static func mask(_ input: String) -> String {
        Masking.keep(first: 4, last: 4, of: compact(input))
    }
}

/// Passports of the People's Republic of China: ordinary (E + 8 digits until 2017, then E +
/// letter + 7 digits; G + 8 digits for older non-electronic ones), diplomatic (DE), service (SE)
/// and public-affairs (PE) + 7 digits. Format checks only: there is no public check digit.
public enum PassportNumber: FormatOnlyDocument {
    /// Validates the format.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let number = compact(input)
        try Normalization.withBytes(number) { bytes throws(DocumentError) in
            guard bytes.count == 9 else { throw DocumentError.invalidLength }
            let first = bytes[0], second = bytes[1]
            switch first {
            case UInt8(ascii: "E"):
                if Normalization.isDigit(second) {
                    guard Normalization.allDigits(bytes, 1..<9) else { throw DocumentError.invalidFormat }
                } else {
                    // The letter never is I or O, which read as 1 and 0.
                    guard Normalization.isUpper(second), second != UInt8(ascii: "I"), second != UInt8(ascii: "O"),
                          Normalization.allDigits(bytes, 2..<9) else { throw DocumentError.invalidFormat }
                }
            case UInt8(ascii: "G"):
                guard Normalization.allDigits(bytes, 1..<9) else { throw DocumentError.invalidFormat }
            case UInt8(ascii: "D"), UInt8(ascii: "S"), UInt8(ascii: "P"):
                guard second == UInt8(ascii: "E"), Normalization.allDigits(bytes, 2..<9) else { throw DocumentError.invalidFormat }
            default:
                throw DocumentError.invalidFormat
            }
        }
        return number
    }
}

/// 港澳居民来往内地通行证: H (Hong Kong) or M (Macao) + 8 digits (cards since 2013), or + 10
/// digits (older booklets: 8-digit lifelong number + 2-digit issue count). Format only.
public enum HKMacaoTravelPermit: FormatOnlyDocument {
    /// Validates the format.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let number = compact(input)
        try Normalization.withBytes(number) { bytes throws(DocumentError) in
            guard bytes.count == 9 || bytes.count == 11 else { throw DocumentError.invalidLength }
            guard bytes[0] == UInt8(ascii: "H") || bytes[0] == UInt8(ascii: "M"),
                  Normalization.allDigits(bytes, 1..<bytes.count) else { throw DocumentError.invalidFormat }
        }
        return number
    }
}

/// 台湾居民来往大陆通行证: an 8-digit lifelong number (since 2015), or 10 digits on older
/// permits (8 + 2-digit issue count). Format only.
public enum TaiwanCompatriotPermit: FormatOnlyDocument {
    /// Validates the format.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let number = compact(input)
        try Normalization.withBytes(number) { bytes throws(DocumentError) in
            guard bytes.count == 8 || bytes.count == 10 else { throw DocumentError.invalidLength }
            guard Normalization.allDigits(bytes, 0..<bytes.count) else { throw DocumentError.invalidFormat }
        }
        return number
    }
}

/// Documents checked by format only (no public check character): they share the clean-up and
/// display verbs, and differ in `validate`.
public protocol FormatOnlyDocument {
    /// Validates the format and returns the compact number.
    static func validate(_ input: String) throws(DocumentError) -> String
}

extension FormatOnlyDocument {
    /// Removes separators and full-width forms.
    public static func compact(_ input: String) -> String { Normalization.compactSeparators(input) }

    /// Whether the number has a valid format.
    public static func isValid(_ input: String) -> Bool { (try? validate(input)) != nil }

    /// The number as printed: compact, no grouping.
    public static func format(_ input: String) -> String { compact(input) }

    /// The first two and last two characters kept: `E1*****78`.
    public static func mask(_ input: String) -> String { Masking.keep(first: 2, last: 2, of: compact(input)) }
}
