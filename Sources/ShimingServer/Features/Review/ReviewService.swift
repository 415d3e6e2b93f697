import Fluent
import FluentSQL
import Foundation
import IdentityRules
import ShimingCore

/// The back office's work on tasks and cases: claiming, deciding (with the neutrality and
/// four-eyes rules), revealing a masked value for a stated purpose, the contact log, duty for
/// round-robin assignment, and the sweep that returns idle claims and escalates overdue tasks.
struct ReviewService: Sendable {
    let cases: CaseService
    var db: any Database { cases.store.database }
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
    func visibleTask(_ id: UUID, staff: Account) async throws -> ReviewTaskRecord {
        guard let task = try await ReviewTaskRecord.find(id, on: db), ReviewTasks.visible(task, to: staff) else {
            throw CommonErrors.notFound
        }
        return task
    }

    /// The applicant and what they stated, for the neutrality rule.
    func parties(of record: StoredCase) async throws -> (Account, CaseApplication) {
        guard let applicant = try await cases.store.accounts.find(record.accountID) else { throw CommonErrors.notFound }
        return (applicant, try cases.application(of: record))
    }

    /// Refuses (and audits the refusal) when the staff member is connected to the case or is the
    /// one an appeal contests.
    func checkNeutral(_ staff: Account, task: ReviewTaskRecord, record: StoredCase, ip: String?) async throws {
        let (applicant, application) = try await parties(of: record)
        var why = ReviewConflict.between(staff, applicant: applicant, application: application)
        if why == nil, task.excludedID == staff.id { why = .contestedDecision }
        guard let why else { return }
        try await AuditLog.recordAlone("case.decision_refused", actor: .staff(staff.id), subject: CaseService.subject(task.caseID), ip: ip,
                                       details: ["why": why.rawValue, "task": try task.requireID().uuidString.lowercased()], at: cases.now,
                                       gate: context.writeGate, on: db)
        throw why.error
    }

    /// Claims a task: one conditional `UPDATE … RETURNING`, so of two reviewers claiming at
    /// once exactly one wins. A claim left idle past the timeout may be taken over.
    func claim(_ id: UUID, staff: Account, ip: String?) async throws -> ReviewTaskRecord {
        let task = try await visibleTask(id, staff: staff)
        guard task.state == ReviewTaskState.open.rawValue else { throw Self.taskClosed }
        guard let record = try await cases.store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        try await checkNeutral(staff, task: task, record: record, ip: ip)
        let now = cases.now
        let won = try await context.writeGate.transaction(on: db) { tx -> Bool in
            guard let sql = tx as? any SQLDatabase else { return false }
            let rows = try await sql.raw("""
                UPDATE review_tasks SET assignee_id = \(bind: staff.id), claimed_at = \(bind: now)
                WHERE id = \(bind: id) AND state = 'open'
                AND (assignee_id IS NULL OR assignee_id = \(bind: staff.id) OR claimed_at IS NULL OR claimed_at < \(bind: now.addingTimeInterval(-idleTimeout)))
                RETURNING id
                """).all()
            guard !rows.isEmpty else { return false }
            try await AuditLog.record("review_task.claimed", actor: .staff(staff.id), subject: ReviewTasks.subject(id), ip: ip,
                                      details: ["case": task.caseID.uuidString.lowercased()], at: now, on: tx)
            return true
        }
        guard won else {
            let current = try await ReviewTaskRecord.find(id, on: db)
            throw current?.state == ReviewTaskState.open.rawValue ? Self.taskClaimed : Self.taskClosed
        }
        return try await visibleTask(id, staff: staff)
    }

    /// Gives a claimed task back to the queue.
    func release(_ id: UUID, staff: Account, ip: String?) async throws -> ReviewTaskRecord {
        let task = try await visibleTask(id, staff: staff)
        guard task.state == ReviewTaskState.open.rawValue else { throw Self.taskClosed }
        guard task.assigneeID == staff.id else { throw Self.taskClaimed }
        let now = cases.now
        try await context.writeGate.transaction(on: db) { tx in
            try await ReviewTaskRecord.query(on: tx).filter(\.$id == id).filter(\.$assigneeID == staff.id)
                .set(\.$assigneeID, to: nil).set(\.$claimedAt, to: nil).update()
            try await AuditLog.record("review_task.released", actor: .staff(staff.id), subject: ReviewTasks.subject(id), ip: ip,
                                      details: ["why": "by_assignee"], at: now, on: tx)
        }
        return try await visibleTask(id, staff: staff)
    }

    /// Marks work on a claimed task, so that it does not count as idle.
    func touch(caseID: UUID, staff: Account) async throws {
        try await context.writeGate.transaction(on: db) { [cases] tx in
            try await Self.touch(caseID: caseID, staff: staff, at: cases.now, on: tx)
        }
    }

    /// The same, inside the caller's transaction.
    static func touch(caseID: UUID, staff: Account, at now: Date, on tx: any Database) async throws {
        try await ReviewTaskRecord.query(on: tx).filter(\.$caseID == caseID).filter(\.$state == ReviewTaskState.open.rawValue)
            .filter(\.$assigneeID == staff.id).set(\.$claimedAt, to: now).update()
    }

    /// A person's earlier rejection: by whom (nil where the rejecting actor was not a person on
    /// record, e.g. rows from before actors were kept).
    struct Rejection: Sendable {
        var by: UUID?
    }

    /// The latest rejection of the same person (same account or same number), if any: approving
    /// them then needs a supervisor who did not reject them (four eyes).
    func earlierRejection(of record: StoredCase) async throws -> Rejection? {
        let store = cases.store
        var caseIDs = try await store.cases.owned(by: record.accountID).map(\.id)
        if let index = record.numberIndex {
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
        guard let record = try await cases.store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        let known = Set(try cases.program(record.program).fieldNames)
        if pointed.values.contains(where: { !known.contains($0) }) { throw AccountError.invalid(["fields": "invalid_value"]) }
        try await checkNeutral(staff, task: task, record: record, ip: ip)
        guard task.state == ReviewTaskState.open.rawValue else { throw Self.taskClosed }
        // An appeal is upheld or dismissed; upholding one against a freeze lifts the freeze.
        let freezes = FreezeService(cases: cases)
        let appeal = task.kind == "appeal" ? try await freezes.appeal(forTask: taskID)?.0 : nil
        if appeal != nil, outcome == .return { throw AccountError.invalid(["outcome": "invalid_value"]) }
        let liftsFreeze = appeal?.contests == "freeze" && outcome == .approve
        let isSupervisor = !staff.roles.isDisjoint(with: AccessPolicy.supervise)
        if let assignee = task.assigneeID, assignee != staff.id, !isSupervisor,
           let claimedAt = task.claimedAt, claimedAt >= now.addingTimeInterval(-idleTimeout) {
            throw Self.taskClaimed
        }
        if outcome == .approve, !liftsFreeze, let rejection = try await earlierRejection(of: record) {
            guard isSupervisor, rejection.by != staff.id else {
                try await AuditLog.recordAlone("case.decision_refused", actor: .staff(staff.id), subject: CaseService.subject(task.caseID), ip: ip,
                                               details: ["why": "four_eyes"], at: now, gate: context.writeGate, on: db)
                throw UserFacingError(code: "four_eyes_required", kind: .forbidden,
                                      message: LocalizedText("此人曾被拒绝过，批准需要另一位主管确认。",
                                                             "This person was rejected before; approving needs another supervisor."))
            }
        }
        let program = try cases.program(record.program)
        let (applicant, _) = try await parties(of: record)
        let noteSealed = note.isEmpty ? nil : try context.cipher.seal(note, context: StoredCase.noteContext(task.caseID))
        let messageSealed = message.isEmpty ? nil : try context.cipher.seal(message, context: StoredCase.messageContext(task.caseID))
        let version = record.version
        try await context.writeGate.transaction(on: db) { [cases, context] tx in
            let store = Store(tx, context: context)
            guard let task = try await ReviewTaskRecord.find(taskID, on: tx), task.state == ReviewTaskState.open.rawValue else { throw Self.taskClosed }
            var record = try await store.cases.locked(task.caseID, version: version)
            var seq = try await store.cases.nextSeq(task.caseID)
            let actor = AuditActor.staff(staff.id)
            if record.state == .needsReview || record.state == .appealed {
                try await store.cases.move(.startReview, &record, actor: actor, rule: nil, at: now, seq: &seq)
            }
            if let appeal {
                appeal.outcome = outcome == .approve ? "upheld" : "dismissed"
                appeal.decidedBy = staff.id
                appeal.decidedAt = now
                try await appeal.save(on: tx)
            }
            if liftsFreeze {
                try await Self.close(task, outcome: outcome, staff: staff, at: now, on: tx)
                try await AuditLog.record("case.reviewed", actor: actor, subject: CaseService.subject(task.caseID), ip: ip,
                                          details: ["outcome": outcome.rawValue, "kind": "appeal", "task": taskID.uuidString.lowercased()], at: now, on: tx)
                try await store.cases.save(&record, at: now)
                guard let freeze = try await FreezeService.liveFreeze(of: record.accountID, on: tx),
                      let holder = try await AccountRecord.find(record.accountID, on: tx) else { throw FreezeService.notFrozen }
                try await freezes.lift(freeze, account: holder, how: "appeal", actor: actor, ip: ip, at: now, on: tx)
                return
            }
            try await store.cases.move(.reviewed(outcome), &record, actor: actor, rule: "review.decision", at: now, seq: &seq)
            record.decision = (CaseDecision(
                outcome: outcome.rawValue, rule: "review.decision", reasons: reasons, decidedBy: staff.id.uuidString.lowercased(), decidedAt: now,
                noteSealed: noteSealed, reasonTexts: Dictionary(uniqueKeysWithValues: reasons.compactMap { code in list.text(code).map { (code, $0) } }),
                fields: pointed.isEmpty ? nil : pointed, messageSealed: messageSealed))
            try await Self.close(task, outcome: outcome, staff: staff, at: now, on: tx)
            try await AuditLog.record("case.reviewed", actor: actor, subject: CaseService.subject(task.caseID), ip: ip,
                                      details: ["outcome": outcome.rawValue, "reasons": reasons.joined(separator: ","),
                                                "fields": pointed.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                                                "message": messageSealed == nil ? "no" : "yes",
                                                "kind": task.kind ?? "review", "task": taskID.uuidString.lowercased()], at: now, on: tx)
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
        guard let updated = try await cases.store.cases.find(task.caseID) else { throw CommonErrors.notFound }
        return try await cases.load(updated)
    }

    /// Marks a task decided, in the caller's transaction.
    static func close(_ task: ReviewTaskRecord, outcome: CaseAction.ReviewOutcome, staff: Account, at now: Date, on tx: any Database) async throws {
        task.state = ReviewTaskState.done.rawValue
        task.outcome = outcome.rawValue
        task.decidedBy = staff.id
        task.assigneeID = task.assigneeID ?? staff.id
        task.closedAt = now
        try await task.save(on: tx)
    }

    /// The latest task of a case the staff member may see, and the case; otherwise 404.
    func visibleCase(_ caseID: UUID, staff: Account) async throws -> (ReviewTaskRecord, StoredCase) {
        guard let task = try await ReviewTasks.latestVisible(caseID: caseID, to: staff, on: db),
              let record = try await cases.store.cases.find(caseID) else {
            throw CommonErrors.notFound
        }
        return (task, record)
    }

    /// Puts a reviewer on or off duty for round-robin assignment.
    func setDuty(_ onDuty: Bool, staff: Account, ip: String?) async throws -> Date? {
        let now = cases.now
        return try await context.writeGate.transaction(on: db) { tx -> Date? in
            guard let record = try await AccountRecord.find(staff.id, on: tx) else { throw CommonErrors.notFound }
            if onDuty, record.onDutySince != nil { return record.onDutySince }
            record.onDutySince = onDuty ? now : nil
            try await record.save(on: tx)
            try await AuditLog.record(onDuty ? "review.duty_started" : "review.duty_ended", actor: .staff(staff.id),
                                      subject: AccountService.subject(staff.id), ip: ip, at: now, on: tx)
            return record.onDutySince
        }
    }

    struct SweepResult: Sendable, Equatable {
        var released = 0, escalated = 0
    }

    /// Claims idle past the timeout go back to the queue; overdue open tasks are escalated once
    /// to the supervisors (each told by SMS or e-mail).
    func sweep() async throws -> SweepResult {
        let now = cases.now
        var result = SweepResult()
        let idle = try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue).filter(\.$assigneeID != nil)
            .filter(\.$claimedAt < now.addingTimeInterval(-idleTimeout)).limit(500).all()
        for task in idle {
            let id = try task.requireID()
            try await context.writeGate.transaction(on: db) { tx in
                try await ReviewTaskRecord.query(on: tx).filter(\.$id == id).filter(\.$state == ReviewTaskState.open.rawValue)
                    .set(\.$assigneeID, to: nil).set(\.$claimedAt, to: nil).update()
                try await AuditLog.record("review_task.released", actor: .system, subject: ReviewTasks.subject(id),
                                          details: ["why": "idle", "assignee": task.assigneeID?.uuidString.lowercased() ?? ""], at: now, on: tx)
            }
            result.released += 1
        }
        let overdue = try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue).filter(\.$escalatedAt == nil)
            .filter(\.$dueAt < now).limit(500).all()
        if !overdue.isEmpty {
            let supervisors = try await ReviewTasks.staff(with: .supervisor, on: db, cipher: context.cipher)
            for task in overdue {
                let id = try task.requireID()
                let program = context.programs[task.program]
                try await context.writeGate.transaction(on: db) { tx in
                    try await ReviewTaskRecord.query(on: tx).filter(\.$id == id).filter(\.$escalatedAt == nil).set(\.$escalatedAt, to: now).update()
                    try await AuditLog.record("review_task.escalated", actor: .system, subject: ReviewTasks.subject(id),
                                              details: ["due": RFC3339.string(from: task.dueAt)], at: now, on: tx)
                    guard let program else { return }
                    for supervisor in supervisors {
                        try await ReviewTasks.tell(supervisor, template: "review_task_escalated",
                                                   text: ReviewNotices.escalated(program: program, due: task.dueAt, lang: supervisor.locale),
                                                   context: context, at: now, on: tx)
                    }
                }
                result.escalated += 1
            }
        }
        return result
    }
}
