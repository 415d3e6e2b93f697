import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// A case waiting for a person: opened when a case enters `needs_review`, routed to the
/// program's reviewer pool or to the class's teacher (P4), due after the program's hours.
final class ReviewTaskRecord: Model, @unchecked Sendable {
    static let schema = "review_tasks"

    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    @Field(key: "program") var program: String
    /// `open`, `done` or `cancelled` (the applicant edited and resubmitted).
    @Field(key: "state") var state: String
    /// `pool`, `class_teacher`, or `supervisors` (a class without a teacher who may decide it).
    @Field(key: "routing") var routing: String
    /// `review`, or `appeal` (`CreateBackOffice`; nil in rows written before it means review).
    @OptionalField(key: "kind") var kind: String?
    @OptionalField(key: "scope_school") var scopeSchool: String?
    @OptionalField(key: "scope_grade") var scopeGrade: String?
    @OptionalField(key: "scope_class") var scopeClass: String?
    /// The rule that sent the case to review.
    @Field(key: "reason") var reason: String
    @Field(key: "due_at") var dueAt: Date
    @OptionalField(key: "assignee_id") var assigneeID: UUID?
    /// When the assignee claimed it, or last worked on it; idle past the timeout → back to the queue.
    @OptionalField(key: "claimed_at") var claimedAt: Date?
    /// When the overdue task was escalated to the supervisors.
    @OptionalField(key: "escalated_at") var escalatedAt: Date?
    /// Who may not decide it (an appeal: the staff member whose freeze or rejection it contests).
    @OptionalField(key: "excluded_id") var excludedID: UUID?
    @OptionalField(key: "outcome") var outcome: String?
    @OptionalField(key: "decided_by") var decidedBy: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "closed_at") var closedAt: Date?

    init() {}
}

/// A contact with the applicant about a case (P1: "contact the student"), recorded by staff.
final class CaseContactRecord: Model, @unchecked Sendable {
    static let schema = "case_contacts"

    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    @Field(key: "staff_id") var staffID: UUID
    /// `phone`, `sms`, `email` or `in_person`.
    @Field(key: "channel") var channel: String
    /// What was said, sealed (it may hold personal data).
    @Field(key: "note_sealed") var noteSealed: String
    @Field(key: "at") var at: Date

    init() {}

    static func context(_ caseID: UUID) -> String { "case.contact.\(caseID.lowercasedText)" }
}
