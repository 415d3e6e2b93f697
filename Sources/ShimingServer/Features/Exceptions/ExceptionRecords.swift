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

    static func context(_ accountID: UUID) -> String { "account.freeze.\(accountID.uuidString.lowercased())" }
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

    static func context(_ caseID: UUID) -> String { "case.appeal.\(caseID.uuidString.lowercased())" }
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

    static func context(_ id: UUID) -> String { RiskAlert.context(id) }
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

    static func context(_ id: UUID) -> String { Feedback.context(id) }
}

/// Freezes, appeals, risk alerts and feedback (issue 6, exceptions).
struct CreateExceptions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AccountFreezeRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("frozen_by", .uuid, .required)
            .field("reason_sealed", .string, .required)
            .field("cases", .string, .required)
            .field("frozen_at", .datetime, .required)
            .field("lifted_by", .uuid)
            .field("lifted_at", .datetime)
            .field("lifted_how", .string)
            .field("lifted_note_sealed", .string)
            .field("prior_status", .string, .required)
            .field("prior_status_reason", .string)
            .create()
        try await database.schema(CaseAppealRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("account_id", .uuid, .required)
            .field("contests", .string, .required)
            .field("contested_by", .uuid)
            .field("freeze_id", .uuid)
            .field("reason_sealed", .string, .required)
            .field("task_id", .uuid, .required)
            .field("created_at", .datetime, .required)
            .field("outcome", .string)
            .field("decided_by", .uuid)
            .field("decided_at", .datetime)
            .create()
        try await database.schema(RiskAlertRecord.schema)
            .id()
            .field("kind", .string, .required)
            .field("subject", .string, .required)
            .field("program", .string)
            .field("details", .string, .required)
            .field("note_sealed", .string)
            .field("raised_by", .uuid)
            .field("state", .string, .required)
            .field("count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .field("acknowledged_by", .uuid)
            .field("acknowledged_at", .datetime)
            .field("resolved_by", .uuid)
            .field("resolved_at", .datetime)
            .field("resolution_sealed", .string)
            .create()
        try await database.schema(FeedbackRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("case_id", .uuid)
            .field("page", .string)
            .field("text_sealed", .string, .required)
            .field("tags", .string, .required)
            .field("state", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_by", .uuid)
            .field("read_at", .datetime)
            .field("answer_sealed", .string)
            .field("answered_by", .uuid)
            .field("answered_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX account_freezes_account ON account_freezes (account_id, lifted_at)",
            "CREATE INDEX case_appeals_case ON case_appeals (case_id)",
            "CREATE INDEX case_appeals_task ON case_appeals (task_id)",
            "CREATE INDEX risk_alerts_state ON risk_alerts (state, last_seen_at)",
            "CREATE INDEX risk_alerts_subject ON risk_alerts (kind, subject, state)",
            "CREATE INDEX feedback_state ON feedback (state, created_at)",
            "CREATE INDEX review_tasks_closed ON review_tasks (closed_at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX review_tasks_closed"])
        for schema in [FeedbackRecord.schema, RiskAlertRecord.schema, CaseAppealRecord.schema, AccountFreezeRecord.schema] {
            try await database.schema(schema).delete()
        }
    }
}
