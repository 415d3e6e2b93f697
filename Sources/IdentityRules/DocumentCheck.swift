/// The outcome of checking one input: its type, normal form, and either the facts it carries
/// or the rule it broke.
public struct DocumentCheckResult: Sendable, Hashable {
    /// The input as given.
    public let input: String
    /// The detected (or requested) type; `nil` when the input looks like no known identifier.
    public let type: DocumentType?
    /// The normal form, when valid.
    public let normalized: String?
    /// The broken rule, when invalid.
    public let error: DocumentError?
    /// Birth date, sex and region, for identity numbers that carry them.
    public let facts: IdentityFacts?

    /// Whether the input is valid.
    public var isValid: Bool { error == nil }
}

/// Checks any identifier, detecting its type from its shape when not told.
public enum DocumentCheck {
    /// What to check an input as; `auto` detects the type.
    public enum Selection: String, Sendable, CaseIterable {
        case auto
        /// Resident ID numbers, 18 or 15 digits, and HK/Macao/Taiwan residence permits.
        case resident
        /// Residence permits only.
        case hmt
        /// Foreign permanent resident IDs, either format.
        case fpr
        case passport
        case hkmo
        case tw
        case uscc
        case mobile
        case email
        case name

        /// Parses a selection or a document type name (`resident_id`, `cn_passport`, …).
        public init?(argument: String) {
            if let selection = Selection(rawValue: argument.lowercased()) {
                self = selection
                return
            }
            switch DocumentType(rawValue: argument.lowercased()) {
            case .residentID, .residentID15: self = .resident
            case .hmtResidencePermit: self = .hmt
            case .foreignPermanentResident2023, .foreignPermanentResidentOld: self = .fpr
            case .passport: self = .passport
            case .hkMacaoTravelPermit: self = .hkmo
            case .taiwanCompatriotPermit: self = .tw
            case .unifiedSocialCreditCode: self = .uscc
            case .mobile: self = .mobile
            case .email: self = .email
            case .personalName: self = .name
            case nil: return nil
            }
        }
    }

    /// Checks `input` as `selection`; `today` bounds birth dates.
    public static func check(_ input: String, as selection: Selection = .auto, today: CivilDate) -> DocumentCheckResult {
        let type: DocumentType?
        switch selection {
        case .auto: type = detect(input)
        case .resident: type = residentFamilyGuess(Normalization.compactSeparators(input))
        case .hmt: type = .hmtResidencePermit
        case .fpr:
            type = Normalization.compactSeparators(input).utf8.count == 15 ? .foreignPermanentResidentOld : .foreignPermanentResident2023
        case .passport: type = .passport
        case .hkmo: type = .hkMacaoTravelPermit
        case .tw: type = .taiwanCompatriotPermit
        case .uscc: type = .unifiedSocialCreditCode
        case .mobile: type = .mobile
        case .email: type = .email
        case .name: type = .personalName
        }
        guard let type else {
            return DocumentCheckResult(input: input, type: nil, normalized: nil, error: .invalidFormat, facts: nil)
        }
        do throws(DocumentError) {
            switch type {
            case .residentID, .residentID15, .hmtResidencePermit:
                let facts = try ResidentIDNumber.validate(input, today: today)
                if selection == .hmt, facts.type != .hmtResidencePermit { throw DocumentError.unknownRegion }
                return valid(input, facts.type, ResidentIDNumber.compact(input), facts)
            case .foreignPermanentResident2023, .foreignPermanentResidentOld:
                let facts = try ForeignPermanentResidentID.validate(input, today: today)
                let normalized = ForeignPermanentResidentID.compact(input)
                return valid(input, normalized.utf8.count == 15 ? .foreignPermanentResidentOld : .foreignPermanentResident2023, normalized, facts)
            case .passport:
                return valid(input, type, try PassportNumber.validate(input), nil)
            case .hkMacaoTravelPermit:
                return valid(input, type, try HKMacaoTravelPermit.validate(input), nil)
            case .taiwanCompatriotPermit:
                return valid(input, type, try TaiwanCompatriotPermit.validate(input), nil)
            case .unifiedSocialCreditCode:
                return valid(input, type, try UnifiedSocialCreditCode.validate(input), nil)
            case .mobile:
                return valid(input, type, try MobileNumber.validate(input), nil)
            case .email:
                return valid(input, type, try EmailAddress.validate(input), nil)
            case .personalName:
                return valid(input, type, try PersonalName.validate(input), nil)
            }
        } catch {
            return DocumentCheckResult(input: input, type: type, normalized: nil, error: error, facts: nil)
        }
    }

    private static func valid(_ input: String, _ type: DocumentType, _ normalized: String, _ facts: IdentityFacts?) -> DocumentCheckResult {
        DocumentCheckResult(input: input, type: type, normalized: normalized, error: nil, facts: facts)
    }

    /// The most likely type of an input, from its shape alone (not its validity), so that an
    /// invalid number is reported as the kind it was meant to be. An 18-digit string that
    /// starts with a province code is a resident ID number; organisation codes made only of
    /// digits can be checked with the `uscc` selection.
    public static func detect(_ input: String) -> DocumentType? {
        var compacted = Normalization.compactSeparators(input)  // no copy for plain input
        return compacted.withUTF8 { bytes in detect(bytes: bytes) }
    }

    private static func detect(bytes: UnsafeBufferPointer<UInt8>) -> DocumentType? {
        let count = bytes.count
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "@") { return .email }
            if Normalization.isDigit(byte) { digits += 1 }
        }
        if digits == 0 {
            if count == 0 { return nil }
            // Full-width @ (EF BC A0) survives compaction as UTF-8.
            for i in 0..<max(0, count - 2) where bytes[i] == 0xEF && bytes[i + 1] == 0xBC && bytes[i + 2] == 0xA0 {
                return .email
            }
            return .personalName
        }
        let isMobilePrefix = bytes.starts(with: "+86".utf8) || bytes.starts(with: "0086".utf8)
        if isMobilePrefix || (count == 11 && digits == 11 && bytes[0] == UInt8(ascii: "1")) { return .mobile }
        if count == 13, digits == 13, bytes.starts(with: "861".utf8) { return .mobile }
        let first = bytes[0]
        switch count {
        case 18:
            let last = bytes[17]
            let lastIsCheck = Normalization.isDigit(last) || last == UInt8(ascii: "X") || last == UInt8(ascii: "x")
            guard Normalization.allDigits(bytes, 0..<17), lastIsCheck else { return .unifiedSocialCreditCode }
            if first == UInt8(ascii: "9") {
                let century = Normalization.number(bytes, 6..<8)
                return century == 19 || century == 20 ? .foreignPermanentResident2023 : .unifiedSocialCreditCode
            }
            return residentFamily(bytes)
        case 15:
            if digits == 15 { return .residentID15 }
            if (0..<3).allSatisfy({ Normalization.isUpper(bytes[$0] & 0xDF) }) { return .foreignPermanentResidentOld }
        case 9, 11:
            switch first {
            case UInt8(ascii: "H"), UInt8(ascii: "M"): return .hkMacaoTravelPermit
            case UInt8(ascii: "E"), UInt8(ascii: "G"), UInt8(ascii: "D"), UInt8(ascii: "S"), UInt8(ascii: "P"):
                if count == 9 { return .passport }
            default: break
            }
        case 8, 10:
            if digits == count { return .taiwanCompatriotPermit }
        default:
            break
        }
        // Mostly digits of about the right length: a mistyped resident ID number.
        if digits >= count - 1, (14...20).contains(count) { return residentFamily(bytes) }
        return nil
    }

    static func residentFamily(_ bytes: UnsafeBufferPointer<UInt8>) -> DocumentType {
        if bytes.count == 15 { return .residentID15 }
        if bytes.count >= 6, Normalization.allDigits(bytes, 0..<6) {
            switch Normalization.number(bytes, 0..<6) {
            case 810_000, 820_000, 830_000: return .hmtResidencePermit
            default: break
            }
        }
        return .residentID
    }

    /// Which member of the resident-ID family a (possibly invalid) number would be.
    static func residentFamilyGuess(_ compacted: String) -> DocumentType {
        var compacted = compacted
        return compacted.withUTF8 { residentFamily($0) }
    }
}
