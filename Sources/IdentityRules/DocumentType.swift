/// The kinds of identifiers Shiming checks. The raw value is the stable name used by the API
/// and by `shiming idcheck`.
public enum DocumentType: String, Sendable, Hashable, CaseIterable {
    /// 居民身份证号码, 18 characters (GB 11643-1999).
    case residentID = "resident_id"
    /// First-generation 15-digit resident ID number.
    case residentID15 = "resident_id_15"
    /// 港澳台居民居住证 number: resident-ID structure with 810000, 820000 or 830000.
    case hmtResidencePermit = "hmt_residence_permit"
    /// 外国人永久居留身份证, 2023 format: 18 characters starting with 9.
    case foreignPermanentResident2023 = "fpr_2023"
    /// 外国人永久居留证, 2004 format: 3-letter nationality + 12 digits.
    case foreignPermanentResidentOld = "fpr_old"
    /// 中华人民共和国护照 (ordinary, diplomatic, service and public-affairs).
    case passport = "cn_passport"
    /// 港澳居民来往内地通行证.
    case hkMacaoTravelPermit = "hk_mo_travel_permit"
    /// 台湾居民来往大陆通行证.
    case taiwanCompatriotPermit = "tw_compatriot_permit"
    /// 统一社会信用代码 (GB 32100-2015), for organisations.
    case unifiedSocialCreditCode = "uscc"
    /// Mainland mobile phone number.
    case mobile
    /// E-mail address.
    case email
    /// A person's name.
    case personalName = "name"

    /// Whether numbers of this type carry a birth date, sex and region.
    public var carriesPersonalFacts: Bool {
        switch self {
        case .residentID, .residentID15, .hmtResidencePermit, .foreignPermanentResident2023: true
        default: false
        }
    }
}

/// What an identity number says about its holder.
public struct IdentityFacts: Sendable, Hashable {
    /// Which kind of number it is.
    public let type: DocumentType
    /// The birth date encoded in the number.
    public let birthDate: CivilDate
    /// The sex encoded in the sequence code.
    public let gender: Gender
    /// The six-digit division code (810000/820000/830000 for residence permits; the issuing
    /// province's code for 2023 foreign permanent resident IDs).
    public let regionCode: Int
    /// Whether that division code is still in use.
    public let regionActive: Bool

    /// The division with its names as they were in the birth year, when the code is a
    /// GB/T 2260 code.
    public var region: Region? { RegionTable.region(code: regionCode, year: birthDate.year) }

    /// A display name for the region: 北京市东城区, 香港特别行政区, 台湾地区.
    public var regionName: String? {
        if regionCode == 830_000 { return "台湾地区" }
        return region?.fullName
    }

    /// The region code as six digits.
    public var regionCodeText: String { String(regionCode) }

    /// Completed years of age on a date.
    public func age(on date: CivilDate) -> Int { birthDate.age(on: date) }
}
