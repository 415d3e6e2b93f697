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
        if input.contains("@") || input.contains("＠") { return .email }
        let compacted = Normalization.compactSeparators(input)
        let bytes = Array(compacted.utf8)
        let digits = bytes.filter(Normalization.isDigit).count
        if digits == 0 {
            return bytes.isEmpty ? nil : .personalName
        }
        let count = bytes.count
        let upper = compacted.uppercased()
        if upper.hasPrefix("+86") || upper.hasPrefix("0086") || (count == 11 && digits == 11 && bytes[0] == UInt8(ascii: "1")) {
            return .mobile
        }
        switch count {
        case 18:
            let leadingDigits = bytes.prefix(17).allSatisfy(Normalization.isDigit)
            let lastIsCheck = Normalization.isDigit(bytes[17]) || bytes[17] == UInt8(ascii: "X") || bytes[17] == UInt8(ascii: "x")
            guard leadingDigits, lastIsCheck else { return .unifiedSocialCreditCode }
            if bytes[0] == UInt8(ascii: "9") {
                let century = (bytes[6], bytes[7])
                let looksLikeDate = century == (UInt8(ascii: "1"), UInt8(ascii: "9")) || century == (UInt8(ascii: "2"), UInt8(ascii: "0"))
                return looksLikeDate ? .foreignPermanentResident2023 : .unifiedSocialCreditCode
            }
            return residentFamilyGuess(compacted)
        case 15:
            if digits == 15 { return .residentID15 }
            if bytes.prefix(3).allSatisfy({ $0 & 0xDF >= 0x41 && $0 & 0xDF <= 0x5A }) { return .foreignPermanentResidentOld }
        case 9, 11:
            switch bytes[0] {
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
        if digits >= count - 1, (14...20).contains(count) { return residentFamilyGuess(compacted) }
        return nil
    }

    /// Which member of the resident-ID family a (possibly invalid) number would be.
    static func residentFamilyGuess(_ compacted: String) -> DocumentType {
        if compacted.utf8.count == 15 { return .residentID15 }
        for prefix in ["810000", "820000", "830000"] where compacted.hasPrefix(prefix) { return .hmtResidencePermit }
        return .residentID
    }
}
