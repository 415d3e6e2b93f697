/// What a relying platform may learn about a verified person, claim by claim. A platform is
/// registered with the claims it may ask for; the person grants some or all of them; the
/// verification query answers with exactly the granted ones. The document number is never
/// one of them.
public enum PlatformClaim: String, Sendable, Codable, CaseIterable, Comparable {
    /// Whether the person holds a verification in force (always granted).
    case verified
    /// Which program verified them.
    case program
    /// When the verification runs out.
    case expiresAt
    /// Age thresholds, derived from the birth date without disclosing it.
    case ageOver14
    case ageOver18
    case ageOver60
    /// The legal name with its middle masked (`陈志远` → `陈*远`, `李明` → `李*`).
    case maskedName
    /// The legal name in full.
    case name
    /// School, grade and class (education programs).
    case school
    /// The identity code Shiming issued (P1).
    case identityCode
    /// The organisation's name and unified social credit code (organisation programs).
    case organisation

    /// What the person is told the platform will learn, on the consent screen.
    public var label: LocalizedText {
        switch self {
        case .verified: LocalizedText("您是否已通过实名核验", "whether you are verified")
        case .program: LocalizedText("核验所用的认证项目", "which program verified you")
        case .expiresAt: LocalizedText("核验的有效期", "until when the verification is valid")
        case .ageOver14: LocalizedText("您是否年满 14 周岁（不含出生日期）", "whether you are 14 or older (not your birth date)")
        case .ageOver18: LocalizedText("您是否年满 18 周岁（不含出生日期）", "whether you are 18 or older (not your birth date)")
        case .ageOver60: LocalizedText("您是否年满 60 周岁（不含出生日期）", "whether you are 60 or older (not your birth date)")
        case .maskedName: LocalizedText("您的姓名（中间部分隐去）", "your name with its middle hidden")
        case .name: LocalizedText("您的完整姓名", "your full name")
        case .school: LocalizedText("学校、年级和班级", "your school, grade and class")
        case .identityCode: LocalizedText("平台发放的身份码", "the identity code issued to you")
        case .organisation: LocalizedText("机构名称和统一社会信用代码", "your organisation's name and credit code")
        }
    }

    public static func < (lhs: PlatformClaim, rhs: PlatformClaim) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Where a hosted verification session stands, as the platform reads it.
public enum VerificationSessionStatus: String, Sendable, Codable, CaseIterable {
    /// Created; nobody has opened it yet.
    case open
    /// A person opened it and is signing in, applying or waiting for review.
    case pending
    /// The person is verified and granted the platform its claims.
    case verified
    /// The person declined to share.
    case declined
    /// Nobody finished it within its lifetime.
    case expired
    /// The platform cancelled it.
    case cancelled

    /// Whether the session is over (its URL shows why and changes nothing).
    public var isFinal: Bool { ![.open, .pending].contains(self) }
}
