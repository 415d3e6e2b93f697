import Fluent
import Foundation

/// A freeze of an account by staff: who, why (sealed), and the cases it froze with the state
/// each was in, so that lifting it puts them back.
final class AccountFreezeRecord: Model, @unchecked Sendable {
    static let schema = "account_freezes"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "frozen_by") var frozenBy: UUID
    @Field(key: "reason_sealed") var reasonSealed: String
    /// `[{"case": id, "state": state}]`: the cases frozen and where they were.
    @Field(key: "cases") var cases: String
    @Field(key: "frozen_at") var frozenAt: Date
    @OptionalField(key: "lifted_by") var liftedBy: UUID?
    @OptionalField(key: "lifted_at") var liftedAt: Date?
    /// `unfreeze` (staff) or `appeal` (an appeal upheld).
    @OptionalField(key: "lifted_how") var liftedHow: String?
    /// Staff's note on lifting it, sealed.
    @OptionalField(key: "lifted_note_sealed") var liftedNoteSealed: String?
    /// The account's status (and its reason code) before the freeze, restored when it ends.
    @Field(key: "prior_status") var priorStatus: String
    @OptionalField(key: "prior_status_reason") var priorStatusReason: String?

    init() {}

    static func context(_ accountID: UUID) -> String { "account.freeze.\(accountID.lowercasedText)" }
}

/// An applicant's appeal against a freeze or a rejection, and how it ended.
final class CaseAppealRecord: Model, @unchecked Sendable {
    static let schema = "case_appeals"

    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    @Field(key: "account_id") var accountID: UUID
    /// `freeze` or `rejection`.
    @Field(key: "contests") var contests: String
    /// The staff member whose freeze or rejection it contests (nil: an automatic rejection).
    @OptionalField(key: "contested_by") var contestedBy: UUID?
    @OptionalField(key: "freeze_id") var freezeID: UUID?
    @Field(key: "reason_sealed") var reasonSealed: String
    @Field(key: "task_id") var taskID: UUID
    @Field(key: "created_at") var createdAt: Date
    /// `upheld`, `dismissed`, or `withdrawn` (the freeze was lifted while it waited).
    @OptionalField(key: "outcome") var outcome: String?
    @OptionalField(key: "decided_by") var decidedBy: UUID?
    @OptionalField(key: "decided_at") var decidedAt: Date?

    init() {}

    static func context(_ caseID: UUID) -> String { "case.appeal.\(caseID.lowercasedText)" }
}

/// Something supervisors should look at: raised by the system (failed verifications,
/// duplicates, frequency limits) or by staff. Repeats of an open alert count up on it.
final class RiskAlertRecord: Model, @unchecked Sendable {
    static let schema = "risk_alerts"

    @ID(key: .id) var id: UUID?
    /// `failed_verification`, `duplicate_identity`, `rate_limited` or `staff`.
    @Field(key: "kind") var kind: String
    /// What it is about: `case:…`, `account:…` or `ip:…`.
    @Field(key: "subject") var subject: String
    @OptionalField(key: "program") var program: String?
    /// Machine codes only (no personal data), JSON.
    @Field(key: "details") var details: String
    /// Staff's words, sealed.
    @OptionalField(key: "note_sealed") var noteSealed: String?
    @OptionalField(key: "raised_by") var raisedBy: UUID?
    /// `open`, `acknowledged` or `resolved`.
    @Field(key: "state") var state: String
    @Field(key: "count") var count: Int
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "last_seen_at") var lastSeenAt: Date
    @OptionalField(key: "acknowledged_by") var acknowledgedBy: UUID?
    @OptionalField(key: "acknowledged_at") var acknowledgedAt: Date?
    @OptionalField(key: "resolved_by") var resolvedBy: UUID?
    @OptionalField(key: "resolved_at") var resolvedAt: Date?
    @OptionalField(key: "resolution_sealed") var resolutionSealed: String?

    init() {}

}

/// Feedback sent from any page by an applicant or staff member, and staff's answer.
final class FeedbackRecord: Model, @unchecked Sendable {
    static let schema = "feedback"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @OptionalField(key: "case_id") var caseID: UUID?
    /// The page it was sent from (a path, no query).
    @OptionalField(key: "page") var page: String?
    @Field(key: "text_sealed") var textSealed: String
    /// Comma-separated tags given by staff.
    @Field(key: "tags") var tags: String
    /// `new`, `read` or `answered`.
    @Field(key: "state") var state: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "read_by") var readBy: UUID?
    @OptionalField(key: "read_at") var readAt: Date?
    @OptionalField(key: "answer_sealed") var answerSealed: String?
    @OptionalField(key: "answered_by") var answeredBy: UUID?
    @OptionalField(key: "answered_at") var answeredAt: Date?

    init() {}

}
