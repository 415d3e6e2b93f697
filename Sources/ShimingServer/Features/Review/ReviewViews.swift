import Foundation
import IdentityRules
import ShimingCore
import Vapor

struct ReviewTaskView: Content {
    var id: UUID
    var caseId: UUID
    var program: String
    var state: String
    var routing: String
    var reason: String
    var scope: ClassScopeBody?
    var dueAt: Date
    var overdue: Bool
    var createdAt: Date
    var outcome: String?
    var kind: String
    var assigneeId: UUID?
    var claimedAt: Date?
    var escalated: Bool
    var mine: Bool

    struct ClassScopeBody: Content {
        var school: String
        var grade: String
        var `class`: String
    }

    init(_ task: ReviewTask, now: Date, viewer: UUID? = nil) {
        id = task.id
        caseId = task.caseID
        program = task.program
        state = task.state.rawValue
        routing = task.routing
        reason = task.reason
        if let school = task.scopeSchool, let grade = task.scopeGrade, let klass = task.scopeClass {
            scope = ClassScopeBody(school: school, grade: grade, class: klass)
        }
        dueAt = task.dueAt
        overdue = task.state == .open && task.dueAt < now
        createdAt = task.createdAt
        outcome = task.outcome
        kind = task.kind
        assigneeId = task.assigneeID
        claimedAt = task.claimedAt
        escalated = task.escalatedAt != nil
        mine = viewer != nil && task.assigneeID == viewer
    }
}

struct CaseContactView: Content {
    var id: UUID
    var staffId: UUID
    var channel: String
    var note: String
    var at: Date

    init(_ contact: ReviewService.Contact) {
        (id, staffId, channel, note, at) = (contact.id, contact.staffID, contact.channel, contact.note, contact.at)
    }
}

/// What a reviewer sees of a case: the case (masked), its current task, the contact log, and
/// the same person's other cases with their decisions.
struct ReviewCaseView: Content {
    var `case`: CaseView
    var task: ReviewTaskView
    var contacts: [CaseContactView]
    var related: [Related]
    /// When the task is an appeal: what it contests and the applicant's words.
    var appeal: Appeal?

    struct Appeal: Content {
        /// `freeze` or `rejection`.
        var contests: String
        var reason: String
        var createdAt: Date
        var outcome: String?
    }

    struct Related: Content {
        var id: UUID
        var accountId: UUID
        var program: String
        var state: String
        var sameAccount: Bool
        var decision: CaseView.Decision?
        var createdAt: Date
    }
}
