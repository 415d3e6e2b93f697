import Fluent
import Foundation
import ShimingCore
import Vapor

/// A case waiting for a person: opened when a case enters `needs_review`, routed to the
/// program's reviewer pool or to the class's teacher (P4), due after the program's hours.
final class ReviewTaskRecord: Model, @unchecked Sendable {
    static let schema = "review_tasks"

    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    @Field(key: "program") var program: String
    /// `open`, `done` or `cancelled` (the applicant edited and resubmitted).
    @Field(key: "state") var state: String
    /// `pool` or `class_teacher`.
    @Field(key: "routing") var routing: String
    @OptionalField(key: "scope_school") var scopeSchool: String?
    @OptionalField(key: "scope_grade") var scopeGrade: String?
    @OptionalField(key: "scope_class") var scopeClass: String?
    /// The rule that sent the case to review.
    @Field(key: "reason") var reason: String
    @Field(key: "due_at") var dueAt: Date
    @OptionalField(key: "assignee_id") var assigneeID: UUID?
    @OptionalField(key: "outcome") var outcome: String?
    @OptionalField(key: "decided_by") var decidedBy: UUID?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "closed_at") var closedAt: Date?

    init() {}
}

struct CreateReviewTasks: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ReviewTaskRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("program", .string, .required)
            .field("state", .string, .required)
            .field("routing", .string, .required)
            .field("scope_school", .string)
            .field("scope_grade", .string)
            .field("scope_class", .string)
            .field("reason", .string, .required)
            .field("due_at", .datetime, .required)
            .field("assignee_id", .uuid)
            .field("outcome", .string)
            .field("decided_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("closed_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX review_tasks_open ON review_tasks (state, due_at)",
            "CREATE INDEX review_tasks_case ON review_tasks (case_id, state)",
            "CREATE INDEX review_tasks_scope ON review_tasks (scope_school, scope_grade, scope_class, state)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ReviewTaskRecord.schema).delete()
    }
}

enum ReviewTasks {
    /// Opens the review task for a case entering review (in the caller's transaction).
    static func open(for record: CaseRecord, program: Program, reason: String, at now: Date, on tx: any Database) async throws {
        let caseID = try record.requireID()
        let task = ReviewTaskRecord()
        task.id = UUID()
        task.caseID = caseID
        task.program = program.key
        task.state = "open"
        task.routing = program.review.routing.rawValue
        if program.review.routing == .classTeacher {
            task.scopeSchool = record.scopeSchool
            task.scopeGrade = record.scopeGrade
            task.scopeClass = record.scopeClass
        }
        task.reason = reason
        task.dueAt = now.addingTimeInterval(TimeInterval(program.review.dueHours) * 3600)
        task.createdAt = now
        try await task.create(on: tx)
        try await AuditLog.record("review_task.opened", actor: .system, subject: "review_task:\(try task.requireID().uuidString.lowercased())",
                                  details: ["case": caseID.uuidString.lowercased(), "routing": task.routing, "reason": reason], at: now, on: tx)
    }

    /// Cancels a case's open task when the applicant resubmits it.
    static func cancelOpen(caseID: UUID, at now: Date, on tx: any Database) async throws {
        try await ReviewTaskRecord.query(on: tx).filter(\.$caseID == caseID).filter(\.$state == "open")
            .set(\.$state, to: "cancelled").set(\.$closedAt, to: now).update()
    }

    /// Whether a staff member may see and decide a task: teachers their own class's tasks,
    /// reviewers the pool, supervisors and admins everything.
    static func visible(_ task: ReviewTaskRecord, to staff: Account) -> Bool {
        if staff.roles.contains(.supervisor) || staff.roles.contains(.admin) { return true }
        if task.routing == Program.Routing.classTeacher.rawValue {
            guard staff.roles.contains(.teacher), let scope = staff.scope else { return false }
            return NameMatching.labelKey(scope.school) == task.scopeSchool && NameMatching.labelKey(scope.grade) == task.scopeGrade
                && NameMatching.labelKey(scope.className) == task.scopeClass
        }
        return staff.roles.contains(.reviewer)
    }
}
