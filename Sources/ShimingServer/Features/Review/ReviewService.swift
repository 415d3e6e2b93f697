import Foundation
import IdentityRules
import ShimingCore

/// The back office's work on tasks and cases: claiming, deciding (with the neutrality and
/// four-eyes rules), revealing a masked value for a stated purpose, the contact log, duty for
/// round-robin assignment, and the sweep that returns idle claims and escalates overdue tasks.
struct ReviewService: Sendable {
    let cases: CaseService
    var store: Store { cases.store }
    var context: ShimingContext { cases.context }

    init(cases: CaseService) {
        self.cases = cases
    }

    static let taskClosed = UserFacingError(code: "task_closed", kind: .conflict,
                                            message: LocalizedText("该任务已处理。", "This task has already been decided."))
    static let taskClaimed = UserFacingError(code: "task_claimed", kind: .conflict,
                                             message: LocalizedText("该任务已由其他审核员领取。", "Another reviewer has claimed this task."))

    /// A reviewer's decision: the outcome, its reason codes, a staff-only note, the field each
    /// reason is about and the words the applicant reads.
    struct Decision: Codable, Sendable {
        var outcome: String
        var reasons: [String]?
        var note: String?
        /// For each reason, the field or document it is about (`{"document_unreadable": "documents.id_front"}`).
        var fields: [String: String]? = nil
        /// Words the applicant reads with the reasons (return or reject).
        var message: String? = nil
    }

    var idleTimeout: TimeInterval { TimeInterval(context.configuration.reviewIdleMinutes * 60) }

    /// A task the staff member may see; otherwise 404 (no existence leak).
    func visibleTask(_ id: UUID, staff: Account) async throws -> ReviewTask {
        guard let task = try await store.reviewTasks.find(id), ReviewTasks.visible(task, to: staff) else {
            throw CommonErrors.notFound
        }
        return task
    }

    /// The applicant and what they stated, for the neutrality rule.
    func parties(of record: StoredCase) async throws -> (Account, CaseApplication) {
        guard let applicant = try await store.accounts.find(record.accountID) else { throw CommonErrors.notFound }
        return (applicant, try cases.application(of: record))
    }

    /// Refuses (and audits the refusal) when the staff member is connected to the case or is the
    /// one an appeal contests.
    func checkNeutral(_ staff: Account, task: ReviewTask, record: StoredCase, ip: String?) async throws {
        let (applicant, application) = try await parties(of: record)
        var why = ReviewConflict.between(staff, applicant: applicant, application: application)
        if why == nil, task.excludedID == staff.id { why = .contestedDecision }
        if why == nil, applicant.kind == .staff, StaffRole.rank(of: applicant.roles) > StaffRole.rank(of: staff.roles) { why = .higherRole }
        if why == nil, task.kind == "appeal", staff.roles.isDisjoint(with: AccessPolicy.supervise),
           try await store.appeals.appeal(forTask: task.id)?.contests == "freeze" {
            why = .freezeAppeal
        }
        guard let why else { return }
        try await store.auditAlone("case.decision_refused", actor: .staff(staff.id), subject: CaseService.subject(task.caseID), ip: ip,
                                   details: ["why": why.rawValue, "task": task.id.lowercasedText], at: cases.now)
        throw why.error
    }

    /// Claims a task: one conditional `UPDATE … RETURNING`, so of two reviewers claiming at
    /// once exactly one wins. A claim left idle past the timeout may be taken over.
    func claim(_ id: UUID, staff: Account, ip: String?) async throws -> ReviewTask {
        let task = try await visibleTask(id, staff: staff)
        guard task.state == .open else { throw Self.taskClosed }
        guard let record = try await store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        try await checkNeutral(staff, task: task, record: record, ip: ip)
        let now = cases.now
        let idleSince = now.addingTimeInterval(-idleTimeout)
        let won = try await store.transaction { tx -> Bool in
            guard try await tx.reviewTasks.claim(id, for: staff.id, at: now, idleSince: idleSince) else { return false }
            try await tx.audit("review_task.claimed", actor: .staff(staff.id), subject: ReviewTasks.subject(id), ip: ip,
                               details: ["case": task.caseID.lowercasedText], at: now)
            return true
        }
        guard won else {
            let current = try await store.reviewTasks.find(id)
            throw current?.state == .open ? Self.taskClaimed : Self.taskClosed
        }
        return try await visibleTask(id, staff: staff)
    }

    /// Gives a claimed task back to the queue.
    func release(_ id: UUID, staff: Account, ip: String?) async throws -> ReviewTask {
        let task = try await visibleTask(id, staff: staff)
        guard task.state == .open else { throw Self.taskClosed }
        guard task.assigneeID == staff.id else { throw Self.taskClaimed }
        let now = cases.now
        try await store.transaction { tx in
            try await tx.reviewTasks.release(id, heldBy: staff.id)
            try await tx.audit("review_task.released", actor: .staff(staff.id), subject: ReviewTasks.subject(id), ip: ip,
                               details: ["why": "by_assignee"], at: now)
        }
        return try await visibleTask(id, staff: staff)
    }

    /// Marks work on a claimed task, so that it does not count as idle.
    func touch(caseID: UUID, staff: Account) async throws {
        let now = cases.now
        try await store.transaction { tx in
            try await tx.reviewTasks.touch(caseID: caseID, staff: staff.id, at: now)
        }
    }

    /// A person's earlier rejection: by whom (nil where the rejecting actor was not a person on
    /// record, e.g. rows from before actors were kept).
    struct Rejection: Sendable {
        var by: UUID?
    }

    /// The latest rejection of the same person (same account or same number), if any: approving
    /// them then needs a supervisor who did not reject them (four eyes).
    func earlierRejection(of record: StoredCase) async throws -> Rejection? {
        let store = store
        var caseIDs = try await store.cases.owned(by: record.accountID).map(\.id)
        if let index = try cases.numberProbe(of: record) {
            caseIDs += try await store.cases.withNumber(index).map(\.id)
        }
        guard let by = try await store.cases.latestRejection(among: Array(Set(caseIDs))) else { return nil }
        return Rejection(by: by)
    }

    func decide(_ taskID: UUID, staff: Account, _ input: Decision, ip: String?) async throws -> Case {
        var fields: [String: String] = [:]
        let outcome = CaseAction.ReviewOutcome(rawValue: input.outcome)
        if outcome == nil { fields["outcome"] = "invalid_value" }
        let reasons = input.reasons ?? []
        let list = context.reviewReasons
        if reasons.contains(where: { list.text($0) == nil }) || Set(reasons).count != reasons.count { fields["reasons"] = "invalid_value" }
        if outcome != .approve, outcome != nil, reasons.isEmpty { fields["reasons"] = "required" }
        let note = input.note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if note.count > 1000 { fields["note"] = "invalid_length" }
        let message = input.message?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if message.count > 500 { fields["message"] = "invalid_length" }
        // A form sends an empty choice for a reason that names no field.
        let pointed = (input.fields ?? [:]).filter { !$0.value.isEmpty && reasons.contains($0.key) }
        if outcome == .approve, !message.isEmpty || !pointed.isEmpty { fields["message"] = "not_for_approval" }
        if (input.fields ?? [:]).contains(where: { !$0.value.isEmpty && !reasons.contains($0.key) }) { fields["fields"] = "invalid_value" }
        guard let outcome, fields.isEmpty else { throw AccountError.invalid(fields) }

        let task = try await visibleTask(taskID, staff: staff)
        let now = cases.now
        guard let record = try await store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        let known = Set(try cases.program(record.program).fieldNames)
        if pointed.values.contains(where: { !known.contains($0) }) { throw AccountError.invalid(["fields": "invalid_value"]) }
        try await checkNeutral(staff, task: task, record: record, ip: ip)
        guard task.state == .open else { throw Self.taskClosed }
        // An appeal is upheld or dismissed; upholding one against a freeze lifts the freeze.
        let freezes = FreezeService(cases: cases)
        let appeal = task.kind == "appeal" ? try await freezes.appeal(forTask: taskID) : nil
        if appeal != nil, outcome == .return { throw AccountError.invalid(["outcome": "invalid_value"]) }
        let liftsFreeze = appeal?.contests == "freeze" && outcome == .approve
        let isSupervisor = !staff.roles.isDisjoint(with: AccessPolicy.supervise)
        if let assignee = task.assigneeID, assignee != staff.id, !isSupervisor,
           let claimedAt = task.claimedAt, claimedAt >= now.addingTimeInterval(-idleTimeout) {
            throw Self.taskClaimed
        }
        if outcome == .approve, !liftsFreeze, let rejection = try await earlierRejection(of: record) {
            guard isSupervisor, rejection.by != staff.id else {
                try await store.auditAlone("case.decision_refused", actor: .staff(staff.id), subject: CaseService.subject(task.caseID), ip: ip,
                                           details: ["why": "four_eyes"], at: now)
                throw UserFacingError(code: "four_eyes_required", kind: .forbidden,
                                      message: LocalizedText("此人曾被拒绝过，批准需要另一位主管确认。",
                                                             "This person was rejected before; approving needs another supervisor."))
            }
        }
        let program = try cases.program(record.program)
        let (applicant, _) = try await parties(of: record)
        let sealer = try await context.sealer(for: record.accountID)
        let noteSealed = note.isEmpty ? nil : try sealer.seal(note, context: StoredCase.noteContext(task.caseID))
        let messageSealed = message.isEmpty ? nil : try sealer.seal(message, context: StoredCase.messageContext(task.caseID))
        let version = record.version
        try await store.transaction { [cases] store in
            guard let task = try await store.reviewTasks.find(taskID), task.state == .open else { throw Self.taskClosed }
            var (record, seq) = try await store.cases.lockedForMoves(task.caseID, version: version)
            let actor = AuditActor.staff(staff.id)
            if record.state == .needsReview || record.state == .appealed {
                try await store.cases.move(.startReview, &record, actor: actor, rule: nil, at: now, seq: &seq)
            }
            if let appeal {
                try await store.appeals.decide(appeal.id, outcome: outcome == .approve ? "upheld" : "dismissed", by: staff.id, at: now)
            }
            guard try await store.reviewTasks.close(taskID, outcome: outcome.rawValue, by: staff.id, at: now) else { throw Self.taskClosed }
            if liftsFreeze {
                try await store.audit("case.reviewed", actor: actor, subject: CaseService.subject(task.caseID), ip: ip,
                                      details: ["outcome": outcome.rawValue, "kind": "appeal", "task": taskID.lowercasedText], at: now)
                try await store.cases.save(&record, at: now)
                guard let freeze = try await store.appeals.liveFreeze(of: record.accountID),
                      let holder = try await store.accounts.find(record.accountID) else { throw FreezeService.notFrozen }
                try await freezes.lift(freeze, holder: holder, how: "appeal", actor: actor, ip: ip, at: now, in: store)
                return
            }
            try await store.cases.move(.reviewed(outcome), &record, actor: actor, rule: "review.decision", at: now, seq: &seq)
            record.decision = (CaseDecision(
                outcome: outcome.rawValue, rule: "review.decision", reasons: reasons, decidedBy: staff.id.lowercasedText, decidedAt: now,
                noteSealed: noteSealed, reasonTexts: Dictionary(uniqueKeysWithValues: reasons.compactMap { code in list.text(code).map { (code, $0) } }),
                fields: pointed.isEmpty ? nil : pointed, messageSealed: messageSealed))
            try await store.audit("case.reviewed", actor: actor, subject: CaseService.subject(task.caseID), ip: ip,
                                      details: ["outcome": outcome.rawValue, "reasons": reasons.joined(separator: ","),
                                                "fields": pointed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                                                "message": messageSealed == nil ? "no" : "yes",
                                                "kind": task.kind, "task": taskID.lowercasedText], at: now)
            switch outcome {
            case .approve:
                try await cases.completeApproval(&record, program: program, account: applicant, actor: actor, at: now, seq: &seq, in: store)
            case .reject where appeal != nil:
                try await cases.notify(applicant, template: "appeal_dismissed",
                                       text: FreezeNotices.appealDismissed(program: program, lang: applicant.locale) + " "
                                           + Notices.rejected(program: program, reasons: reasons, list: list, lang: applicant.locale), in: store)
            case .reject:
                try await cases.notify(applicant, template: "case_rejected",
                                       text: Notices.rejected(program: program, reasons: reasons, list: list, lang: applicant.locale), in: store)
            case .return:
                try await cases.notify(applicant, template: "case_returned", text: Notices.returned(program: program, lang: applicant.locale), in: store)
            }
            try await store.cases.save(&record, at: now)
        }
        guard let updated = try await store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        return try await cases.load(updated)
    }

    /// The latest task of a case the staff member may see, and the case; otherwise 404.
    func visibleCase(_ caseID: UUID, staff: Account) async throws -> (ReviewTask, StoredCase) {
        let store = store
        guard let task = try await ReviewTasks.latestVisible(caseID: caseID, to: staff, in: store),
              let record = try await store.cases.find(caseID) else {
            throw CommonErrors.notFound
        }
        return (task, record)
    }

    /// Whether a reviewer takes round-robin assignments now.
    func isOnDuty(_ staff: Account) async throws -> Bool { try await store.accounts.onDutySince(staff.id) != nil }

    /// Puts a reviewer on or off duty for round-robin assignment.
    func setDuty(_ onDuty: Bool, staff: Account, ip: String?) async throws -> Date? {
        let now = cases.now
        return try await store.transaction { tx -> Date? in
            let (since, changed) = try await tx.accounts.setOnDuty(staff.id, onDuty, at: now)
            guard changed else { return since }
            try await tx.audit(onDuty ? "review.duty_started" : "review.duty_ended", actor: .staff(staff.id),
                               subject: AccountService.subject(staff.id), ip: ip, at: now)
            return since
        }
    }

    struct SweepResult: Sendable, Equatable {
        var released = 0, escalated = 0
    }

    /// Claims idle past the timeout go back to the queue; overdue open tasks are escalated once
    /// to the supervisors (each told by SMS or e-mail).
    func sweep() async throws -> SweepResult {
        let now = cases.now
        let store = store
        var result = SweepResult()
        let idleSince = now.addingTimeInterval(-idleTimeout)
        for task in try await store.reviewTasks.idleClaims(before: idleSince, limit: 500) {
            let released = try await store.transaction { tx -> Bool in
                guard try await tx.reviewTasks.releaseIdle(task.id, claimedBefore: idleSince) else { return false }
                try await tx.audit("review_task.released", actor: .system, subject: ReviewTasks.subject(task.id),
                                   details: ["why": "idle", "assignee": task.assigneeID?.lowercasedText ?? ""], at: now)
                return true
            }
            if released { result.released += 1 }
        }
        let overdue = try await store.reviewTasks.overdueUnescalated(at: now, limit: 500)
        if !overdue.isEmpty {
            let supervisors = try await store.accounts.activeStaff(with: .supervisor)
            for task in overdue {
                let program = context.programs[task.program]
                let escalated = try await store.transaction { tx -> Bool in
                    guard try await tx.reviewTasks.escalate(task.id, at: now) else { return false }
                    try await tx.audit("review_task.escalated", actor: .system, subject: ReviewTasks.subject(task.id),
                                       details: ["due": RFC3339.string(from: task.dueAt)], at: now)
                    guard let program else { return true }
                    for supervisor in supervisors {
                        try await ReviewTasks.tell(supervisor, template: "review_task_escalated",
                                                   text: ReviewNotices.escalated(program: program, due: task.dueAt, lang: supervisor.locale),
                                                   at: now, in: tx)
                    }
                    return true
                }
                if escalated { result.escalated += 1 }
            }
        }
        return result
    }
}
