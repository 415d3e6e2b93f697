/// Resident identity card numbers (居民身份证号码, GB 11643-1999) and the numbers that share
/// their structure: first-generation 15-digit numbers and residence permits for Hong Kong,
/// Macao and Taiwan residents (810000 / 820000 / 830000).
///
/// An 18-character number is: division code (6) · birth date YYYYMMDD (8) · sequence (3, odd
/// = male) · ISO 7064 MOD 11-2 check character (`0`–`9` or `X`).
public enum ResidentIDNumber {
    /// Removes spaces, hyphens and full-width forms and upper-cases the check character `x`.
    public static func compact(_ input: String) -> String {
        let compacted = Normalization.compactSeparators(input)
        guard compacted.utf8.last == UInt8(ascii: "x") else { return compacted }
        return String(compacted.dropLast()) + "X"
    }

    /// Validates an 18- or 15-character number and returns what it says; throws the first rule
    /// it breaks, checked in the order length, format, birth date, region, check character.
    /// `today` bounds the birth date (pass the current date in China).
    public static func validate(_ input: String, today: CivilDate) throws(DocumentError) -> IdentityFacts {
        if let facts = try fastPath(input, today: today) { return facts }
        let compacted = compact(input)
        return try Normalization.withBytes(compacted) { bytes throws(DocumentError) in
            switch bytes.count {
            case 18: try scan18(bytes, today: today)
            case 15: try scan15(bytes, today: today)
            default: throw DocumentError.invalidLength
            }
        }
    }

    /// Whether the number is valid; allocation-free for 18 plain ASCII characters.
    @inline(__always)
    public static func isValid(_ input: String, today: CivilDate) -> Bool {
        (try? validate(input, today: today)) != nil
    }

    /// `110101 19491231 002X`: the number in groups, as printed on forms.
    public static func format(_ input: String) -> String {
        let compacted = compact(input)
        let characters = Array(compacted)
        switch characters.count {
        case 18: return String(characters[0..<6]) + " " + String(characters[6..<14]) + " " + String(characters[14...])
        case 15: return String(characters[0..<6]) + " " + String(characters[6..<12]) + " " + String(characters[12...])
        default: return compacted
        }
    }

    /// `110101********002X`: division code and last four kept, the birth date and the rest
    /// hidden. Works on any input length (never reveals more than ten characters).
    public static func mask(_ input: String) -> String {
        Masking.keep(first: 6, last: 4, of: compact(input))
    }

    /// The 18-character form of a valid 15-digit number (century `19` inserted, check character
    /// added); a valid 18-character number comes back compacted.
    public static func upgrade(_ input: String, today: CivilDate) throws(DocumentError) -> String {
        let compacted = compact(input)
        guard try validate(compacted, today: today).type == .residentID15 else { return compacted }
        return eighteenCharacterForm(ofValid15: compacted)
    }

    /// Inserts the century and appends the check character; the input is a valid compact
    /// 15-digit number.
    static func eighteenCharacterForm(ofValid15 number: String) -> String {
        let body = String(number.prefix(6)) + "19" + String(number.dropFirst(6))
        return body + String(ISO7064.mod11_2CheckCharacter(for: body) ?? "?")
    }

    /// 18 plain ASCII letters and digits are checked in place without copying; anything else
    /// (separators, full-width digits, 15 digits) returns `nil` for the general path.
    @inline(__always)
    static func fastPath(_ input: String, today: CivilDate) throws(DocumentError) -> IdentityFacts? {
        var input = input
        let result: Result<IdentityFacts, DocumentError>? = input.withUTF8 { bytes in
            guard bytes.count == 18 else { return nil }
            for byte in bytes where !(Normalization.isDigit(byte) || Normalization.isUpper(byte & 0xDF)) { return nil }
            do throws(DocumentError) { return .success(try scan18(bytes, today: today)) } catch { return .failure(error) }
        }
        return try result?.get()
    }

    /// Checks 18 bytes (after compaction).
    @inline(__always)
    static func scan18(_ bytes: UnsafeBufferPointer<UInt8>, today: CivilDate) throws(DocumentError) -> IdentityFacts {
        guard bytes.count == 18 else { throw .invalidLength }
        guard Normalization.allDigits(bytes, 0..<17) else { throw .invalidFormat }
        let last = bytes[17]
        let checkValue: Int
        if Normalization.isDigit(last) {
            checkValue = Int(last &- 0x30)
        } else if last == UInt8(ascii: "X") || last == UInt8(ascii: "x") {
            checkValue = 10
        } else {
            throw .invalidFormat
        }
        let birth = try birthDate(bytes, at: 6, century: nil, today: today)
        let region = Normalization.number(bytes, 0..<6)
        let type: DocumentType
        let active: Bool
        switch region {
        case 810_000, 820_000, 830_000:
            // Residence permits: valid whatever the holder's birth year.
            type = .hmtResidencePermit
            active = true
        default:
            type = .residentID
            try RegionTable.check(region, birthYear: birth.year)
            active = RegionTable.lastYearMarker(region) == RegionTable.activeMarker
        }
        guard ISO7064.mod11_2Value(bytes) == checkValue else { throw .invalidChecksum }
        let gender: Gender = (bytes[16] & 1) == 1 ? .male : .female
        return IdentityFacts(type: type, birthDate: birth, gender: gender, regionCode: region, regionActive: active)
    }

    /// Checks a first-generation 15-digit number: division code · YYMMDD (19YY) · sequence (3).
    static func scan15(_ bytes: UnsafeBufferPointer<UInt8>, today: CivilDate) throws(DocumentError) -> IdentityFacts {
        guard bytes.count == 15 else { throw .invalidLength }
        guard Normalization.allDigits(bytes, 0..<15) else { throw .invalidFormat }
        let birth = try birthDate(bytes, at: 6, century: 19, today: today)
        let region = Normalization.number(bytes, 0..<6)
        try RegionTable.check(region, birthYear: birth.year)
        let gender: Gender = (bytes[14] & 1) == 1 ? .male : .female
        return IdentityFacts(
            type: .residentID15, birthDate: birth, gender: gender, regionCode: region,
            regionActive: RegionTable.lastYearMarker(region) == RegionTable.activeMarker
        )
    }

    /// Reads YYYYMMDD (or YYMMDD with a fixed century) at `offset` and checks that the date
    /// exists and lies between 1900-01-01 and `today`.
    @inline(__always)
    static func birthDate(
        _ bytes: UnsafeBufferPointer<UInt8>, at offset: Int, century: Int?, today: CivilDate
    ) throws(DocumentError) -> CivilDate {
        let year: Int
        var cursor = offset
        if let century {
            year = century * 100 + Normalization.number(bytes, cursor..<cursor + 2)
            cursor += 2
        } else {
            year = Normalization.number(bytes, cursor..<cursor + 4)
            cursor += 4
        }
        let month = Normalization.number(bytes, cursor..<cursor + 2)
        let day = Normalization.number(bytes, cursor + 2..<cursor + 4)
        guard let date = CivilDate(year: year, month: month, day: day),
              date >= CivilDate.earliestBirthDate, date <= today else { throw .invalidBirthDate }
        return date
    }
}

/// Partial display of identifiers.
public enum Masking {
    /// Keeps the first and last characters and replaces the rest with `*`; short inputs keep
    /// fewer so that at least a third of any input stays hidden.
    public static func keep(first: Int, last: Int, of text: String) -> String {
        if let masked = keep(first: first, last: last, ofSingleScalarCharacters: text) { return masked }
        let characters = Array(text)
        let (first, last) = shown(first: first, last: last, of: characters.count)
        let hidden = characters.count - first - last
        return String(characters.prefix(first)) + String(repeating: "*", count: hidden) + String(characters.suffix(last))
    }

    /// How many leading and trailing characters of `count` stay shown: fewer than asked when a
    /// third would not be hidden otherwise.
    static func shown(first: Int, last: Int, of count: Int) -> (first: Int, last: Int) {
        var first = first, last = last
        let mustHide = (count + 2) / 3
        while count - first - last < mustHide, first + last > 0 {
            if first >= last { first -= 1 } else { last -= 1 }
        }
        return (first, last)
    }

    /// `keep` over Unicode scalars, when each is a character of its own (nil otherwise): what
    /// document numbers, names and addresses are made of (printable ASCII, CJK ideographs,
    /// full-width forms, the middle dot of transcribed names). None of these joins a neighbour
    /// into one character, so counting and cutting scalars is counting and cutting characters,
    /// without the grapheme breaking `Array(text)` does.
    ///
    /// The shown scalars are copied as their UTF-8 bytes, found by their lead bytes, into a
    /// string of the final size: every case read masks a name and a number, and building the
    /// result scalar by scalar (an array of them, then a scalar view) was 3–4 % of a case
    /// read's work on the request loops.
    static func keep(first: Int, last: Int, ofSingleScalarCharacters text: String) -> String? {
        var count = 0
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x20...0x7E, 0xB7, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xFF01...0xFF5E: count += 1
            default: return nil
            }
        }
        let (first, last) = shown(first: first, last: last, of: count)
        let hidden = count - first - last
        var text = text
        return text.withUTF8 { bytes in
            // Where the hidden scalars start and where the shown ones after them start.
            var (head, tail, index) = (bytes.count, bytes.count, 0)
            for offset in bytes.indices where bytes[offset] & 0xC0 != 0x80 {
                if index == first { head = offset }
                if index == first + hidden {
                    tail = offset
                    break
                }
                index += 1
            }
            let size = head + hidden + (bytes.count - tail)
            return String(unsafeUninitializedCapacity: size) { out in
                _ = out.initialize(fromContentsOf: bytes[..<head])
                out[head..<head + hidden].initialize(repeating: UInt8(ascii: "*"))
                _ = out[(head + hidden)...].initialize(fromContentsOf: bytes[tail...])
                return size
            }
        }
    }
}
