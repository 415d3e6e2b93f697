/// Mainland China mobile numbers: 11 digits in a number segment currently assigned to mobile
/// service, optionally written with +86, 0086 or 86 in front.
public enum MobileNumber {
    /// Three-digit segments assigned to mobile voice/SMS service (MIIT numbering plan),
    /// including virtual operators (170, 171, 162, 165, 167) and satellite (174). Data-only
    /// IoT segments (140, 141, 144, 146, 148) cannot receive codes and are excluded.
    static let segments: Set<Int> = Set(130...139)
        .union([145, 147, 149])
        .union([150, 151, 152, 153, 155, 156, 157, 158, 159])
        .union([162, 165, 166, 167])
        .union(170...178)
        .union(180...189)
        .union([190, 191, 192, 193, 195, 196, 197, 198, 199])

    /// Removes spaces, hyphens, brackets and the country prefix: `+86 138-0013-8000` →
    /// `13800138000`.
    public static func compact(_ input: String) -> String {
        var digits = Normalization.compactSeparators(input)
        digits.removeAll { $0 == "(" || $0 == ")" }
        for prefix in ["+86", "0086", "86"] where digits.hasPrefix(prefix) && digits.utf8.count == 11 + prefix.utf8.count {
            digits.removeFirst(prefix.count)
            break
        }
        return digits
    }

    /// Validates a number and returns its 11-digit form.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let number = compact(input)
        try Normalization.withBytes(number) { bytes throws(DocumentError) in
            guard bytes.count == 11 else { throw DocumentError.invalidLength }
            guard Normalization.allDigits(bytes, 0..<11), bytes[0] == UInt8(ascii: "1") else { throw DocumentError.invalidFormat }
            guard segments.contains(Normalization.number(bytes, 0..<3)) else { throw DocumentError.invalidComponent }
        }
        return number
    }

    /// Whether the number is valid.
    public static func isValid(_ input: String) -> Bool { (try? validate(input)) != nil }

    /// `138 0013 8000`.
    public static func format(_ input: String) -> String {
        let number = Array(compact(input))
        guard number.count == 11 else { return String(number) }
        return String(number[0..<3]) + " " + String(number[3..<7]) + " " + String(number[7...])
    }

    /// `138****8000`.
    public static func mask(_ input: String) -> String {
        let number = compact(input)
        guard number.count == 11 else { return Masking.keep(first: 2, last: 2, of: number) }
        return String(number.prefix(3)) + "****" + String(number.suffix(4))
    }
}

/// E-mail addresses, checked the way mail providers accept them: a dot-atom local part of at
/// most 64 characters, and a domain name of ASCII (or punycode) labels with a real top-level
/// domain. Quoted local parts and IP-literal domains are refused: no consumer uses them.
public enum EmailAddress {
    /// Trims, converts full-width forms (＠ → @) and lower-cases the domain (the local part's
    /// case may matter to the receiving server and is kept).
    public static func compact(_ input: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in input.unicodeScalars {
            let ascii = Normalization.halfWidth(scalar)
            if ascii.properties.isWhitespace { continue }
            scalars.append(ascii)
        }
        let text = String(scalars)
        guard let at = text.lastIndex(of: "@") else { return text }
        return String(text[..<at]) + "@" + text[text.index(after: at)...].lowercased()
    }

    static let localSpecials = Set("!#$%&'*+/=?^_`{|}~-".utf8)

    /// Validates an address and returns its compact form.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let address = compact(input)
        try Normalization.withBytes(address) { bytes throws(DocumentError) in
            guard bytes.count >= 6, bytes.count <= 254 else { throw DocumentError.invalidLength }
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), bytes.lastIndex(of: UInt8(ascii: "@")) == at else {
                throw DocumentError.invalidFormat
            }
            let local = UnsafeBufferPointer(rebasing: bytes[0..<at])
            let domain = UnsafeBufferPointer(rebasing: bytes[(at + 1)...])
            guard local.count >= 1, local.count <= 64 else { throw DocumentError.invalidLength }
            guard dotAtom(local, allowed: { isAlphanumeric($0) || localSpecials.contains($0) }) else {
                throw DocumentError.invalidFormat
            }
            let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard labels.count >= 2, domain.count <= 253 else { throw DocumentError.invalidFormat }
            for label in labels {
                guard (1...63).contains(label.count), label.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") }),
                      label.first != UInt8(ascii: "-"), label.last != UInt8(ascii: "-") else { throw DocumentError.invalidFormat }
            }
            let tld = labels[labels.count - 1]
            let isPunycode = tld.starts(with: "xn--".utf8)
            guard tld.count >= 2, isPunycode || tld.allSatisfy({ $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") }) else {
                throw DocumentError.invalidFormat
            }
        }
        return address
    }

    /// Whether the address is valid.
    public static func isValid(_ input: String) -> Bool { (try? validate(input)) != nil }

    /// The address as it should be stored and shown: compact form.
    public static func format(_ input: String) -> String { compact(input) }

    /// `l***@example.com`: the first character of the local part and the domain kept.
    public static func mask(_ input: String) -> String {
        let address = compact(input)
        guard let at = address.lastIndex(of: "@"), at > address.startIndex else { return Masking.keep(first: 1, last: 0, of: address) }
        return String(address[address.startIndex]) + "***" + address[at...]
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        Normalization.isDigit(byte) || Normalization.isUpper(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
    }

    /// Non-empty atoms of allowed bytes separated by single dots.
    static func dotAtom(_ bytes: UnsafeBufferPointer<UInt8>, allowed: (UInt8) -> Bool) -> Bool {
        var previousWasDot = true  // no leading dot
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                if previousWasDot { return false }
                previousWasDot = true
            } else {
                guard allowed(byte) else { return false }
                previousWasDot = false
            }
        }
        return !previousWasDot  // no trailing dot
    }
}

/// Personal names as written on identity documents: Chinese names in Han characters, with
/// the middle dot (·) that separates the parts of minority and transliterated foreign names
/// (阿沛·阿旺晋美), or names in Latin letters (foreigners' names as in their passport).
public enum PersonalName {
    /// Dots people type instead of the middle dot U+00B7.
    static let dotVariants: Set<UInt32> = [0x00B7, 0x30FB, 0x2022, 0x2027, 0xFF0E, 0x2219, 0xFF65, 0x22C5, 0x2E31, 0x0387, 0x16EB]

    /// Trims, converts full-width letters and spaces to ASCII, unifies middle-dot variants to
    /// `·`, removes spaces inside Chinese names and collapses runs of spaces in Latin names.
    public static func compact(_ input: String) -> String {
        var scalars: [Unicode.Scalar] = []
        for raw in input.unicodeScalars {
            var scalar = Normalization.halfWidth(raw)
            if dotVariants.contains(scalar.value) { scalar = "·" }
            if scalar.properties.isWhitespace { scalar = " " }
            if scalar == " ", scalars.last == " " || scalars.isEmpty { continue }
            scalars.append(scalar)
        }
        while scalars.last == " " { scalars.removeLast() }
        // A dot between Han characters written as "." is a middle dot.
        for i in scalars.indices where scalars[i] == "." {
            if i > 0, i < scalars.count - 1, isHan(scalars[i - 1]), isHan(scalars[i + 1]) { scalars[i] = "·" }
        }
        if scalars.contains(where: isHan) {
            scalars.removeAll { $0 == " " }
        }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Validates a name (2–40 characters after clean-up) and returns its compact form.
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let name = compact(input)
        let count = name.count
        guard count >= 2, count <= 40 else { throw .invalidLength }
        let scalars = Array(name.unicodeScalars)
        if scalars.contains(where: isHan) {
            // Han characters joined by single middle dots, none at either end.
            guard scalars.allSatisfy({ isHan($0) || $0 == "·" }),
                  scalars.first != "·", scalars.last != "·",
                  !zip(scalars, scalars.dropFirst()).contains(where: { $0 == "·" && $1 == "·" }) else {
                throw .invalidFormat
            }
        } else {
            // Latin letters (accents allowed) with single spaces, hyphens, apostrophes and dots.
            guard let first = scalars.first, isLatinLetter(first) else { throw .invalidFormat }
            let separators: Set<Unicode.Scalar> = [" ", "-", "'", ".", "’"]
            for (previous, scalar) in zip(scalars, scalars.dropFirst()) {
                if separators.contains(scalar) {
                    guard !separators.contains(previous) || (previous == "." && scalar == " ") else { throw .invalidFormat }
                } else if !isLatinLetter(scalar) && !isCombiningMark(scalar) {
                    throw .invalidFormat
                }
            }
            guard let last = scalars.last, isLatinLetter(last) || last == "." || isCombiningMark(last) else { throw .invalidFormat }
        }
        return name
    }

    /// Whether the name is valid.
    public static func isValid(_ input: String) -> Bool { (try? validate(input)) != nil }

    /// The name as it should be stored and shown: compact form.
    public static func format(_ input: String) -> String { compact(input) }

    /// `张**`: the first character kept.
    public static func mask(_ input: String) -> String {
        // A name of Han characters alone, most names here, is its own compact form and has a
        // character for each scalar: masked without compacting it (a case read masks one or two).
        var hanCount = 0
        for scalar in input.unicodeScalars {
            guard isHan(scalar) else {
                hanCount = 0
                break
            }
            hanCount += 1
        }
        if hanCount > 0, let first = input.unicodeScalars.first {
            return String(first) + String(repeating: "*", count: max(1, hanCount - 1))
        }
        let name = compact(input)
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(1, name.count - 1))
    }

    /// CJK unified ideographs (basic, extensions A–H), compatibility ideographs and 〇.
    static func isHan(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2EBEF, 0x2EBF0...0x2EE5F,
             0x30000...0x323AF, 0xF900...0xFAFF, 0x2F800...0x2FA1F, 0x3007:
            true
        default:
            false
        }
    }

    static func isLatinLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x24F, 0x1E00...0x1EFF: true
        default: false
        }
    }

    static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        (0x300...0x36F).contains(scalar.value)
    }
}
