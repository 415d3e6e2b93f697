/// Why a staff member may not decide a case or a request (P3: reviewers must be neutral).
/// Every reason answers with one code, `conflict_of_interest` (403), and its own words; the
/// reason itself is what the audit trail records (`why`).
public enum ConflictOfInterest: String, Sendable, CaseIterable {
    /// The applicant is the staff member.
    case ownCase = "own_case"
    /// The staff member is the applicant's guardian.
    case guardian
    /// The staff member shares the applicant's phone or e-mail.
    case sharedContact = "shared_contact"
    /// An appeal contests this staff member's own freeze or rejection.
    case contestedDecision = "contested_decision"
    /// A change request the staff member filed themselves.
    case ownRequest = "own_request"
    /// The applicant is staff of a higher role than the staff member.
    case higherRole = "higher_role"
    /// An appeal against a freeze, which only a supervisor or admin (not the freezer) decides.
    case freezeAppeal = "freeze_appeal"

    public static let code = "conflict_of_interest"

    /// The error the staff member reads.
    public var error: UserFacingError {
        let message = switch self {
        case .ownCase: LocalizedText("不能审核自己的申请。", "You cannot decide your own application.")
        case .guardian: LocalizedText("您是申请人的监护人，不能审核此申请。", "You are the applicant's guardian and cannot decide this application.")
        case .sharedContact: LocalizedText("您与申请人使用相同的手机号或邮箱，不能审核此申请。",
                                           "You share a phone number or e-mail address with the applicant and cannot decide this application.")
        case .contestedDecision: LocalizedText("该申诉针对您的决定，需由其他人处理。", "This appeal contests your own decision; someone else must decide it.")
        case .ownRequest: LocalizedText("不能处理自己的申请。", "You cannot decide your own request.")
        case .higherRole: LocalizedText("对方是职级更高的工作人员，您不能处理。", "This person is staff of a higher role than yours; you cannot decide about them.")
        case .freezeAppeal: LocalizedText("针对冻结的申诉只能由主管或管理员（冻结人以外）处理。",
                                          "An appeal against a freeze is decided by a supervisor or an admin other than the one who froze the account.")
        }
        return UserFacingError(code: Self.code, kind: .forbidden, message: message)
    }
}

/// The errors of cases that callers react to, so that they match on a value, not on a string.
public enum CaseErrors {
    /// Someone changed the case since it was read (the version moved on): reload and retry.
    public static let changed = UserFacingError(
        code: "case_changed", kind: .conflict,
        message: LocalizedText("申请刚被修改过，请刷新后重试。", "The application was changed meanwhile; reload and try again.")
    )

    /// Whether an error is `changed` (whatever fields it carries).
    public static func isChanged(_ error: any Error) -> Bool {
        (error as? UserFacingError)?.code == changed.code
    }
}
