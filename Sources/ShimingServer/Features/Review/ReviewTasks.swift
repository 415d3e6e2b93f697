import Foundation
import IdentityRules
import ShimingCore

/// A review task as the services see it: one decision (or appeal) a person owes a case, routed
/// to the program's pool, the class's teacher (P4) or the supervisors, due after the program's hours.
struct ReviewTask: Sendable, Equatable {
    var id: UUID
    var caseID: UUID
    var program: String
    var state: ReviewTaskState
    /// `pool`, `class_teacher`, or `supervisors` (a class without a teacher who may decide it).
    var routing: String
    /// `review` or `appeal`.
    var kind: String
    var scopeSchool: String?
    var scopeGrade: String?
    var scopeClass: String?
    var reason: String
    var dueAt: Date
    var assigneeID: UUID?
    var claimedAt: Date?
    var escalatedAt: Date?
    /// Who may not take it (the staff member an appeal contests).
    var excludedID: UUID?
    var outcome: String?
    var decidedBy: UUID?
    var createdAt: Date
    var closedAt: Date?
}

enum ReviewTasks {
    static func subject(_ id: UUID) -> String { "review_task:\(id.lowercasedText)" }

    /// Opens the review task for a case entering review or appeal (in the caller's
    /// transaction) and routes it: the class's teacher (told by SMS or e-mail; no teacher → the
    /// supervisors), or the pool, where a round-robin program hands it to the reviewer on duty
    /// whose last assignment is oldest. Nobody is given a case they are connected to.
    @discardableResult
    static func open(for record: StoredCase, application: CaseApplication, applicant: Account, program: Program, kind: String = "review",
                     reason: String, excluded: UUID? = nil, at now: Date, in tx: Store) async throws -> UUID {
        let caseID = record.id
        let id = UUID()
        var task = ReviewTask(
            id: id, caseID: caseID, program: program.key, state: .open,
            routing: kind == "appeal" ? Program.Routing.pool.rawValue : program.review.routing.rawValue, kind: kind,
            reason: reason, dueAt: now.addingTimeInterval(TimeInterval(program.review.dueHours) * 3600), excludedID: excluded, createdAt: now
        )
        var notify: [Account] = []
        if task.routing == Program.Routing.classTeacher.rawValue {
            task.scopeSchool = record.scopeSchool
            task.scopeGrade = record.scopeGrade
            task.scopeClass = record.scopeClass
            notify = try await tx.accounts.activeStaff(with: .teacher).filter {
                inScope(task, $0) && ReviewConflict.between($0, applicant: applicant, application: application) == nil && $0.id != excluded
            }
            if notify.isEmpty { task.routing = "supervisors" }
        } else if program.review.assignment == .roundRobin, kind == "review" {
            if let reviewer = try await nextOnDuty(applicant: applicant, application: application, excluded: excluded, in: tx) {
                task.assigneeID = reviewer.id
                task.claimedAt = now
                notify = [reviewer]
            }
        }
        try await tx.reviewTasks.insert(task)
        var details = ["case": caseID.lowercasedText, "routing": task.routing, "reason": reason, "kind": kind]
        details["assignee"] = task.assigneeID?.lowercasedText
        try await tx.audit("review_task.opened", actor: .system, subject: subject(id), details: details, at: now)
        for person in notify {
            try await tell(person, template: "review_task_assigned", text: ReviewNotices.assigned(program: program, due: task.dueAt, lang: person.locale),
                           at: now, in: tx)
        }
        return id
    }

    /// A staff notice: to the staff member's phone, else e-mail (an administrator vouched for both).
    static func tell(_ person: Account, template: String, text: String, at now: Date, in tx: Store) async throws {
        let subject = LocalizedText("实名认证审核", "Verification review")(person.locale)
        var message: OutgoingMessage
        if let phone = person.phone {
            message = OutgoingMessage(channel: .sms, to: phone, template: template, text: MessageTemplates.brand(person.locale) + text)
        } else if let email = person.email {
            message = OutgoingMessage(channel: .email, to: email, template: template, subject: subject, text: MessageTemplates.brand(person.locale) + text)
        } else {
            return
        }
        message.account = person.id
        try await tx.enqueue(message, at: now)
    }

    /// The reviewer on duty whose last assignment is oldest (never assigned first), skipping
    /// anyone connected to the case.
    static func nextOnDuty(applicant: Account, application: CaseApplication, excluded: UUID?, in tx: Store) async throws -> Account? {
        let candidates = try await tx.accounts.onDutyReviewers()
            .filter { $0.1.id != excluded && ReviewConflict.between($0.1, applicant: applicant, application: application) == nil }
        guard !candidates.isEmpty else { return nil }
        let last = try await tx.reviewTasks.lastAssignments(to: candidates.map(\.1.id))
        return candidates.min { a, b in
            let (x, y) = (last[a.1.id] ?? .distantPast, last[b.1.id] ?? .distantPast)
            return x != y ? x < y : (a.0 != b.0 ? a.0 < b.0 : a.1.id.uuidString < b.1.id.uuidString)
        }?.1
    }

    struct Queue: Sendable, Equatable {
        var open = 0, unclaimed = 0, overdue = 0
        var oldestAge: Double = 0
    }

    static func inScope(_ task: ReviewTask, _ staff: Account) -> Bool {
        guard staff.roles.contains(.teacher), let scope = staff.scope else { return false }
        return NameMatching.labelKey(scope.school) == task.scopeSchool && NameMatching.labelKey(scope.grade) == task.scopeGrade
            && NameMatching.labelKey(scope.className) == task.scopeClass
    }

    /// A case's latest task, if the staff member may see it (what makes a case visible to them).
    static func latestVisible(caseID: UUID, to staff: Account, in store: Store) async throws -> ReviewTask? {
        guard let task = try await store.reviewTasks.latest(caseID: caseID), visible(task, to: staff) else { return nil }
        return task
    }

    /// Whether a staff member may see a task: teachers their own class's tasks, reviewers the
    /// pool, supervisors and admins everything (the supervisors' queue included).
    static func visible(_ task: ReviewTask, to staff: Account) -> Bool {
        if !staff.roles.isDisjoint(with: AccessPolicy.supervise) { return true }
        switch task.routing {
        case Program.Routing.classTeacher.rawValue: return inScope(task, staff)
        case Program.Routing.pool.rawValue: return staff.roles.contains(.reviewer)
        default: return false
        }
    }
}

/// Who may not decide a case: the applicant, the guardian, or someone sharing the applicant's
/// phone or e-mail (the reasons and their messages are `ConflictOfInterest`, in ShimingCore).
enum ReviewConflict {
    static func between(_ staff: Account, applicant: Account, application: CaseApplication) -> ConflictOfInterest? {
        if staff.id == applicant.id { return .ownCase }
        let staffPhones = Set([staff.phone].compactMap { $0 })
        let staffEmails = Set([staff.email].compactMap { $0?.lowercased() })
        let guardianPhones = Set([applicant.guardianPhone, application.guardian?.phone].compactMap { $0.flatMap(normalisedPhone) })
        if !staffPhones.isDisjoint(with: guardianPhones) { return .guardian }
        let phones = Set([applicant.phone, application.contact?.phone].compactMap { $0.flatMap(normalisedPhone) })
        let emails = Set([applicant.email, application.contact?.email].compactMap { $0?.lowercased().trimmedWhitespace })
        if !staffPhones.isDisjoint(with: phones) || !staffEmails.isDisjoint(with: emails) { return .sharedContact }
        return nil
    }

    static func normalisedPhone(_ raw: String) -> String? { try? MobileNumber.validate(raw) }
}

enum ReviewNotices {
    static func assigned(program: Program, due: Date, lang: Lang) -> String {
        LocalizedText("有一份「\(program.title.zh)」申请等待您审核，请在 \(ChinaTime.minute(due)) 前处理。",
                      "A \(program.title.en) application is waiting for your review; please decide it before \(ChinaTime.minute(due)).")(lang)
    }

    static func escalated(program: Program, due: Date, lang: Lang) -> String {
        LocalizedText("一份「\(program.title.zh)」审核任务已超过处理期限（\(ChinaTime.minute(due))），已转交主管。",
                      "A \(program.title.en) review task is past its due time (\(ChinaTime.minute(due))) and was escalated to the supervisors.")(lang)
    }
}
