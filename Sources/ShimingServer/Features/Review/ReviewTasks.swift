import Fluent
import Foundation
import IdentityRules
import ShimingCore

enum ReviewTasks {
    static func subject(_ id: UUID) -> String { "review_task:\(id.uuidString.lowercased())" }

    /// Opens the review task for a case entering review or appeal (in the caller's
    /// transaction) and routes it: the class's teacher (told by SMS or e-mail; no teacher → the
    /// supervisors), or the pool, where a round-robin program hands it to the reviewer on duty
    /// whose last assignment is oldest. Nobody is given a case they are connected to.
    @discardableResult
    static func open(for record: StoredCase, application: CaseApplication, applicant: Account, program: Program, kind: String = "review",
                     reason: String, excluded: UUID? = nil, context: ShimingContext, at now: Date, on tx: any Database) async throws -> UUID {
        let caseID = record.id
        let task = ReviewTaskRecord()
        let id = UUID()
        task.id = id
        task.caseID = caseID
        task.program = program.key
        task.kind = kind
        task.state = ReviewTaskState.open.rawValue
        task.routing = kind == "appeal" ? Program.Routing.pool.rawValue : program.review.routing.rawValue
        task.excludedID = excluded
        task.reason = reason
        task.dueAt = now.addingTimeInterval(TimeInterval(program.review.dueHours) * 3600)
        task.createdAt = now
        var notify: [Account] = []
        if task.routing == Program.Routing.classTeacher.rawValue {
            task.scopeSchool = record.scopeSchool
            task.scopeGrade = record.scopeGrade
            task.scopeClass = record.scopeClass
            notify = try await staff(with: .teacher, on: tx, cipher: context.cipher).filter {
                inScope(task, $0) && ReviewConflict.between($0, applicant: applicant, application: application) == nil && $0.id != excluded
            }
            if notify.isEmpty { task.routing = "supervisors" }
        } else if program.review.assignment == .roundRobin, kind == "review" {
            if let reviewer = try await nextOnDuty(applicant: applicant, application: application, excluded: excluded, context: context, on: tx) {
                task.assigneeID = reviewer.id
                task.claimedAt = now
                notify = [reviewer]
            }
        }
        try await task.create(on: tx)
        var details = ["case": caseID.uuidString.lowercased(), "routing": task.routing, "reason": reason, "kind": kind]
        details["assignee"] = task.assigneeID?.uuidString.lowercased()
        try await AuditLog.record("review_task.opened", actor: .system, subject: subject(id), details: details, at: now, on: tx)
        for person in notify {
            try await tell(person, template: "review_task_assigned", text: ReviewNotices.assigned(program: program, due: task.dueAt, lang: person.locale),
                           context: context, at: now, on: tx)
        }
        return id
    }

    /// A staff notice: to the staff member's phone, else e-mail (an administrator vouched for both).
    static func tell(_ person: Account, template: String, text: String, context: ShimingContext, at now: Date, on tx: any Database) async throws {
        let subject = LocalizedText("实名认证审核", "Verification review")(person.locale)
        let message: OutgoingMessage
        if let phone = person.phone {
            message = OutgoingMessage(channel: .sms, to: phone, template: template, text: MessageTemplates.brand(person.locale) + text)
        } else if let email = person.email {
            message = OutgoingMessage(channel: .email, to: email, template: template, subject: subject, text: MessageTemplates.brand(person.locale) + text)
        } else {
            return
        }
        _ = try await Outbox(cipher: context.cipher).enqueue(message, at: now, on: tx)
    }

    /// Active staff accounts holding a role.
    static func staff(with role: StaffRole, on db: any Database, cipher: FieldCipher) async throws -> [Account] {
        try await staffQuery(with: role, on: db).all().map { try $0.account(cipher: cipher) }.filter { $0.roles.contains(role) }
    }

    /// Active staff rows whose role list names the role (callers check the decoded roles, since
    /// the text match could also hit a longer role name).
    static func staffQuery(with role: StaffRole, on db: any Database) -> QueryBuilder<AccountRecord> {
        AccountRecord.query(on: db).filter(\.$kind == Account.Kind.staff.rawValue).filter(\.$roles ~~ role.rawValue)
            .filter(\.$status == AccountStatus.active.rawValue)
    }

    /// The reviewer on duty whose last assignment is oldest (never assigned first), skipping
    /// anyone connected to the case.
    static func nextOnDuty(applicant: Account, application: CaseApplication, excluded: UUID?, context: ShimingContext,
                           on tx: any Database) async throws -> Account? {
        let onDuty = try await staffQuery(with: .reviewer, on: tx).filter(\.$onDutySince != nil).all()
        let candidates = try onDuty.map { ($0.onDutySince ?? .distantPast, try $0.account(cipher: context.cipher)) }
            .filter { $0.1.roles.contains(.reviewer) && $0.1.id != excluded && ReviewConflict.between($0.1, applicant: applicant, application: application) == nil }
        guard !candidates.isEmpty else { return nil }
        var last: [UUID: Date] = [:]
        for task in try await ReviewTaskRecord.query(on: tx).filter(\.$assigneeID ~~ candidates.map { Optional($0.1.id) }).all() {
            guard let assignee = task.assigneeID else { continue }
            last[assignee] = max(last[assignee] ?? .distantPast, task.createdAt)
        }
        return candidates.min { a, b in
            let (x, y) = (last[a.1.id] ?? .distantPast, last[b.1.id] ?? .distantPast)
            return x != y ? x < y : (a.0 != b.0 ? a.0 < b.0 : a.1.id.uuidString < b.1.id.uuidString)
        }?.1
    }

    struct Queue: Sendable, Equatable {
        var open = 0, unclaimed = 0, overdue = 0
        var oldestAge: Double = 0
    }

    /// The open tasks per program: how many, how many unclaimed and overdue, and the oldest's age.
    static func queues(on db: any Database, now: Date) async throws -> [String: Queue] {
        var queues: [String: Queue] = [:]
        for task in try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue)
            .field(\.$id).field(\.$program).field(\.$assigneeID).field(\.$dueAt).field(\.$createdAt).all() {
            var queue = queues[task.program] ?? Queue()
            queue.open += 1
            if task.assigneeID == nil { queue.unclaimed += 1 }
            if task.dueAt < now { queue.overdue += 1 }
            queue.oldestAge = max(queue.oldestAge, now.timeIntervalSince(task.createdAt))
            queues[task.program] = queue
        }
        return queues
    }

    /// Cancels a case's open task when the applicant resubmits it.
    static func cancelOpen(caseID: UUID, at now: Date, on tx: any Database) async throws {
        try await ReviewTaskRecord.query(on: tx).filter(\.$caseID == caseID).filter(\.$state == ReviewTaskState.open.rawValue)
            .set(\.$state, to: ReviewTaskState.cancelled.rawValue).set(\.$closedAt, to: now).update()
    }

    /// `visible` as a query condition, so that the database cuts the list: nil when the staff
    /// member may see no task at all.
    static func visibleOnly(_ query: QueryBuilder<ReviewTaskRecord>, to staff: Account) -> QueryBuilder<ReviewTaskRecord>? {
        if !staff.roles.isDisjoint(with: AccessPolicy.supervise) { return query }
        let reviewer = staff.roles.contains(.reviewer)
        let scope = staff.roles.contains(.teacher) ? staff.scope : nil
        guard reviewer || scope != nil else { return nil }
        return query.group(.or) { either in
            if reviewer { either.filter(\.$routing == Program.Routing.pool.rawValue) }
            if let scope {
                either.group(.and) { own in
                    own.filter(\.$routing == Program.Routing.classTeacher.rawValue)
                        .filter(\.$scopeSchool == NameMatching.labelKey(scope.school))
                        .filter(\.$scopeGrade == NameMatching.labelKey(scope.grade))
                        .filter(\.$scopeClass == NameMatching.labelKey(scope.className))
                }
            }
        }
    }

    static func inScope(_ task: ReviewTaskRecord, _ staff: Account) -> Bool {
        guard staff.roles.contains(.teacher), let scope = staff.scope else { return false }
        return NameMatching.labelKey(scope.school) == task.scopeSchool && NameMatching.labelKey(scope.grade) == task.scopeGrade
            && NameMatching.labelKey(scope.className) == task.scopeClass
    }

    /// A case's latest task, if the staff member may see it (what makes a case visible to them).
    static func latestVisible(caseID: UUID, to staff: Account, on db: any Database) async throws -> ReviewTaskRecord? {
        guard let task = try await ReviewTaskRecord.query(on: db).filter(\.$caseID == caseID).sort(\.$createdAt, .descending).first(),
              visible(task, to: staff) else { return nil }
        return task
    }

    /// Whether a staff member may see a task: teachers their own class's tasks, reviewers the
    /// pool, supervisors and admins everything (the supervisors' queue included).
    static func visible(_ task: ReviewTaskRecord, to staff: Account) -> Bool {
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
        LocalizedText("有一份「\(program.title.zh)」申请等待您审核，请在 \(AccountService.chinaTime(due)) 前处理。",
                      "A \(program.title.en) application is waiting for your review; please decide it before \(AccountService.chinaTime(due)).")(lang)
    }

    static func escalated(program: Program, due: Date, lang: Lang) -> String {
        LocalizedText("一份「\(program.title.zh)」审核任务已超过处理期限（\(AccountService.chinaTime(due))），已转交主管。",
                      "A \(program.title.en) review task is past its due time (\(AccountService.chinaTime(due))) and was escalated to the supervisors.")(lang)
    }
}
