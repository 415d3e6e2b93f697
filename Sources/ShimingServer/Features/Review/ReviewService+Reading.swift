import Foundation
import ShimingCore

/// What staff read in the back office: the task list, the case behind a task with the
/// person's other cases, and its documents. Every look at a case is audited; API and pages
/// both read through here.
extension ReviewService {
    static let taskScopes = ["all", "mine", "unclaimed", "escalated"]

    /// The tasks in `state` the staff member may see, oldest due first (at most 500).
    func visibleTasks(staff: Account, state: ReviewTaskState, scope: String) async throws -> [ReviewTaskView] {
        let now = cases.now
        return try await store.reviewTasks.visible(to: staff, state: state, scope: scope, limit: 500)
            .map { ReviewTaskView($0, now: now, viewer: staff.id) }
    }

    /// The case behind a visible task as a reviewer sees it; the view is audited and counts as
    /// work on a claimed task.
    func caseView(_ caseID: UUID, staff: Account, ip: String?, lang: Lang) async throws -> ReviewCaseView {
        let (task, record) = try await visibleCase(caseID, staff: staff)
        let item = try await cases.load(record)
        try await audit("case.viewed", staff: staff, caseID: item.id, ip: ip)
        try await touch(caseID: item.id, staff: staff)
        var related: [ReviewCaseView.Related] = []
        let store = store
        var others = try await store.cases.owned(by: record.accountID).filter { $0.id != item.id }
        if let index = try cases.numberProbe(of: record) {
            others += try await store.cases.withNumber(index).filter { $0.accountID != record.accountID }
        }
        for other in others.sorted(by: { $0.createdAt > $1.createdAt }).prefix(20) {
            let body = CaseView(try await cases.load(other), lang: lang)
            related.append(.init(id: body.id, accountId: other.accountID, program: body.program, state: body.state,
                                 sameAccount: other.accountID == record.accountID, decision: body.decision, createdAt: body.createdAt))
        }
        var appeal: ReviewCaseView.Appeal?
        if task.kind == "appeal", let found = try await store.appeals.appeal(forTask: task.id) {
            appeal = .init(contests: found.contests, reason: found.reason, createdAt: found.createdAt, outcome: found.outcome)
        }
        return ReviewCaseView(case: CaseView(item, lang: lang), task: ReviewTaskView(task, now: cases.now, viewer: staff.id),
                              contacts: try await contacts(caseID: item.id).map(CaseContactView.init), related: related, appeal: appeal)
    }

    /// A document of a visible case; the view is audited.
    func document(_ fileID: UUID, caseID: UUID, staff: Account, ip: String?) async throws -> (StoredFile, Data) {
        let (_, record) = try await visibleCase(caseID, staff: staff)
        let item = try await cases.load(record)
        let document = try await cases.document(fileID, of: item)
        try await audit("case.document_viewed", staff: staff, caseID: item.id, ip: ip, details: ["file": fileID.lowercasedText])
        return document
    }

    /// Records, on its own, that a staff member looked at a case.
    func audit(_ action: String, staff: Account, caseID: UUID, ip: String?, details: [String: String] = [:]) async throws {
        try await store.auditAlone(action, actor: .staff(staff.id), subject: CaseService.subject(caseID), ip: ip, details: details, at: cases.now)
    }
}
