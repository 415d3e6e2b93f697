import Fluent
import Foundation
import ShimingCore

/// Freezing an account (P5, P1 exceptions), lifting the freeze, and the applicant's appeal
/// against a freeze or a rejection. A freeze takes the account's live cases with it and
/// remembers where each was; lifting it (by staff, or by an upheld appeal) puts them back.
struct FreezeService: Sendable {
    let cases: CaseService
    var db: any Database { cases.store.database }
    var context: ShimingContext { cases.context }

    struct FrozenCase: Codable, Sendable {
        var `case`: UUID
        var state: CaseState
    }

    static let notFrozen = UserFacingError(code: "not_frozen", kind: .conflict, message: LocalizedText("该账号未被冻结。", "This account is not frozen."))

    /// A staff member's free text: trimmed, required, at most `max` characters.
    static func text(_ value: String?, field: String, min: Int = 2, max: Int) throws -> String {
        let text = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if text.isEmpty { throw AccountError.invalid([field: "required"]) }
        if text.count < min || text.count > max { throw AccountError.invalid([field: "invalid_length"]) }
        return text
    }

    /// Freezes an account with a reason the holder will read; their live cases are frozen with
    /// it (open review tasks cancelled) and they are told by SMS or e-mail.
    func freeze(accountID: UUID, reason: String?, staff: Account, ip: String?) async throws {
        let reason = try Self.text(reason, field: "reason", max: 500)
        guard accountID != staff.id else {
            throw UserFacingError(code: "own_account", kind: .conflict, message: LocalizedText("不能冻结自己的账号。", "You cannot freeze your own account."))
        }
        let now = cases.now
        try await context.writeGate.transaction(on: db) { [cases, context] tx in
            guard let record = try await AccountRecord.find(accountID, on: tx) else { throw CommonErrors.notFound }
            switch AccountStatus(rawValue: record.status) {
            case .frozen:
                throw UserFacingError(code: "already_frozen", kind: .conflict, message: LocalizedText("该账号已被冻结。", "This account is already frozen."))
            case .closed:
                throw AccountError.accountState(.closed, reason: nil)
            default: break
            }
            let actor = AuditActor.staff(staff.id)
            var frozen: [FrozenCase] = []
            let store = Store(tx, context: context)
            for var item in try await store.cases.owned(by: accountID, in: CaseState.freezable) {
                frozen.append(FrozenCase(case: item.id, state: item.state))
                try await store.cancelReviewTasks(caseID: item.id, at: now)
                try await store.cases.apply(.freeze, to: &item, actor: actor, rule: "staff.freeze", at: now)
            }
            let freeze = AccountFreezeRecord()
            let freezeID = UUID()
            freeze.id = freezeID
            freeze.accountID = accountID
            freeze.frozenBy = staff.id
            freeze.reasonSealed = try context.cipher.seal(reason, context: AccountFreezeRecord.context(accountID))
            freeze.cases = try CaseService.json(frozen)
            freeze.frozenAt = now
            freeze.priorStatus = record.status
            freeze.priorStatusReason = record.statusReason
            try await freeze.create(on: tx)
            record.status = AccountStatus.frozen.rawValue
            record.statusReason = try context.cipher.seal(reason, context: AccountRecord.context("status_reason", accountID))
            record.updatedAt = now
            try await record.save(on: tx)
            try await AuditLog.record("account.frozen", actor: actor, subject: AccountService.subject(accountID), ip: ip,
                                      details: ["freeze": freezeID.uuidString.lowercased(), "cases": String(frozen.count)], at: now, on: tx)
            let holder = try record.account(cipher: context.cipher)
            try await cases.notify(holder, template: "account_frozen", text: FreezeNotices.frozen(reason: reason, lang: holder.locale), in: store)
        }
    }

    /// Lifts an account's freeze (staff), putting its cases back; a waiting appeal is withdrawn.
    func unfreeze(accountID: UUID, note: String?, staff: Account, ip: String?) async throws {
        let note = note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard note.count <= 500 else { throw AccountError.invalid(["note": "invalid_length"]) }
        let sealed = note.isEmpty ? nil : try context.cipher.seal(note, context: AccountFreezeRecord.context(accountID))
        let now = cases.now
        try await context.writeGate.transaction(on: db) { tx in
            guard let record = try await AccountRecord.find(accountID, on: tx) else { throw CommonErrors.notFound }
            guard record.status == AccountStatus.frozen.rawValue,
                  let freeze = try await Self.liveFreeze(of: accountID, on: tx) else { throw Self.notFrozen }
            freeze.liftedNoteSealed = sealed
            try await lift(freeze, account: record, how: "unfreeze", actor: .staff(staff.id), ip: ip, at: now, on: tx)
        }
    }

    static func liveFreeze(of accountID: UUID, on db: any Database) async throws -> AccountFreezeRecord? {
        try await AccountFreezeRecord.query(on: db).filter(\.$accountID == accountID).filter(\.$liftedAt == nil)
            .sort(\.$frozenAt, .descending).first()
    }

    /// Ends a freeze in the caller's transaction: every case it froze returns to where it was
    /// (a case frozen in review goes back to the queue with a new task; one waiting for its
    /// second confirmation gets a new code), the account returns to its earlier status, the
    /// holder is told.
    func lift(_ freeze: AccountFreezeRecord, account record: AccountRecord, how: String, actor: AuditActor, ip: String?, at now: Date,
              on tx: any Database) async throws {
        let accountID = try record.requireID()
        // Back to what it was: active, still waiting for activation, or locked for its own reason.
        record.status = freeze.priorStatus
        record.statusReason = freeze.priorStatusReason
        record.updatedAt = now
        try await record.save(on: tx)
        let holder = try record.account(cipher: context.cipher)
        let frozen = try JSONDecoder().decode([FrozenCase].self, from: Data(freeze.cases.utf8))
        let store = Store(tx, context: context)
        for entry in frozen {
            guard var item = try await store.cases.find(entry.case), [.frozen, .appealed, .inReview].contains(item.state) else { continue }
            let state = item.state
            if state == .appealed {
                // The appeal waits no more: the freeze it contests is gone.
                try await ReviewTasks.cancelOpen(caseID: entry.case, at: now, on: tx)
                try await CaseAppealRecord.query(on: tx).filter(\.$caseID == entry.case).filter(\.$outcome == nil)
                    .set(\.$outcome, to: "withdrawn").set(\.$decidedAt, to: now).update()
            }
            let target: CaseState = entry.state == .inReview ? .needsReview : entry.state
            var seq = try await store.cases.nextSeq(entry.case)
            try await store.cases.move(.restore(target), &item, actor: actor, rule: how == "appeal" ? "appeal.upheld" : "staff.unfreeze",
                                       at: now, seq: &seq)
            let program = try cases.program(item.program)
            switch target {
            case .needsReview:
                let application = try cases.application(of: item)
                try await store.openReviewTask(for: item, application: application, applicant: holder, program: program,
                                               reason: "staff.unfreeze", context: context, at: now)
            case .awaitingConfirmation:
                try await cases.sendConfirmation(&item, minutes: program.confirmation?.minutes ?? 30, account: holder, at: now, in: store)
            default: break
            }
            try await store.cases.save(&item, at: now)
        }
        freeze.liftedAt = now
        freeze.liftedHow = how
        if case .staff(let id) = actor { freeze.liftedBy = id }
        try await freeze.save(on: tx)
        try await AuditLog.record("account.unfrozen", actor: actor, subject: AccountService.subject(accountID), ip: ip,
                                  details: ["freeze": try freeze.requireID().uuidString.lowercased(), "how": how], at: now, on: tx)
        try await cases.notify(holder, template: "account_unfrozen", text: FreezeNotices.unfrozen(lang: holder.locale), in: store)
    }

    /// The applicant appeals a frozen or rejected case (once per case): a review task opens,
    /// to be decided by someone other than the staff member whose freeze or rejection it contests.
    func appeal(caseID: UUID, account: Account, reason: String?, ip: String?) async throws -> Case {
        let reason = try Self.text(reason, field: "reason", min: 4, max: 1000)
        let current = try await cases.own(caseID, account: account)
        guard current.state == .frozen || current.state == .rejected else {
            throw CaseService.transitionError(CaseTransitionError(from: current.state, action: "appeal"))
        }
        guard try await CaseAppealRecord.query(on: db).filter(\.$caseID == caseID).first() == nil else {
            throw UserFacingError(code: "already_appealed", kind: .conflict,
                                  message: LocalizedText("该申请已申诉过一次，不能再次申诉。", "This application has already been appealed once."))
        }
        let program = try cases.program(current.program)
        let now = cases.now
        try await context.writeGate.transaction(on: db) { [cases, context] tx in
            let store = Store(tx, context: context)
            var record = try await store.cases.locked(caseID, version: current.version)
            let contests = current.state == .frozen ? "freeze" : "rejection"
            var contestedBy: UUID?
            var freezeID: UUID?
            if contests == "freeze" {
                let freeze = try await Self.liveFreeze(of: account.id, on: tx)
                contestedBy = freeze?.frozenBy
                freezeID = try freeze?.requireID()
            } else {
                contestedBy = try await store.cases.lastActor(of: caseID, into: .rejected)
            }
            var seq = try await store.cases.nextSeq(caseID)
            try await store.cases.move(.appeal, &record, actor: .account(account.id), rule: "appeal.\(contests)", at: now, seq: &seq)
            let taskID = try await store.openReviewTask(for: record, application: current.application, applicant: account, program: program,
                                                        kind: "appeal", reason: "appeal.\(contests)", excluded: contestedBy,
                                                        context: context, at: now)
            let appeal = CaseAppealRecord()
            appeal.id = UUID()
            appeal.caseID = caseID
            appeal.accountID = account.id
            appeal.contests = contests
            appeal.contestedBy = contestedBy
            appeal.freezeID = freezeID
            appeal.reasonSealed = try context.cipher.seal(reason, context: CaseAppealRecord.context(caseID))
            appeal.taskID = taskID
            appeal.createdAt = now
            try await appeal.create(on: tx)
            try await store.cases.save(&record, at: now)
            try await AuditLog.record("case.appealed", actor: .account(account.id), subject: CaseService.subject(caseID), ip: ip,
                                      details: ["contests": contests, "task": taskID.uuidString.lowercased()], at: now, on: tx)
            try await cases.notify(account, template: "appeal_received", text: FreezeNotices.appealReceived(program: program, lang: account.locale), in: store)
        }
        return try await cases.own(caseID, account: account)
    }

    /// The appeal a task decides, with its reason opened.
    func appeal(forTask taskID: UUID) async throws -> (CaseAppealRecord, String)? {
        guard let appeal = try await CaseAppealRecord.query(on: db).filter(\.$taskID == taskID).first() else { return nil }
        return (appeal, try context.cipher.open(appeal.reasonSealed, context: CaseAppealRecord.context(appeal.caseID)))
    }
}

enum FreezeNotices {
    static func frozen(reason: String, lang: Lang) -> String {
        LocalizedText("您的账号已被冻结，原因：\(reason)。如有异议，请登录后在“我的账号”页面提出申诉。",
                      "Your account has been frozen. Reason: \(reason). If you disagree, sign in and appeal on the “My account” page.")(lang)
    }

    static func unfrozen(lang: Lang) -> String {
        LocalizedText("您的账号已解除冻结，可以正常使用。", "Your account is no longer frozen; you can use it again.")(lang)
    }

    static func appealReceived(program: Program, lang: Lang) -> String {
        LocalizedText("我们已收到您对「\(program.title.zh)」的申诉，将由未参与原决定的工作人员复核，结果会通知您。",
                      "We have received your appeal for “\(program.title.en)”. Someone who took no part in the original decision will review it; you will be told the result.")(lang)
    }

    static func appealDismissed(program: Program, lang: Lang) -> String {
        LocalizedText("您对「\(program.title.zh)」的申诉经复核未获支持。详情请登录查看。",
                      "Your appeal for “\(program.title.en)” was reviewed and not upheld. Sign in for the details.")(lang)
    }
}
