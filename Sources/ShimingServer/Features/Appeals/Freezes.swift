import Foundation
import ShimingCore

/// Freezing an account (P5, P1 exceptions), lifting the freeze, and the applicant's appeal
/// against a freeze or a rejection. A freeze takes the account's live cases with it and
/// remembers where each was; lifting it (by staff, or by an upheld appeal) puts them back.
struct FreezeService: Sendable {
    let cases: CaseService
    var store: Store { cases.store }
    var context: ShimingContext { cases.context }

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
        try await store.transaction { [cases] tx in
            guard let holder = try await tx.accounts.find(accountID) else { throw CommonErrors.notFound }
            guard StaffRole.rank(of: holder.roles) <= StaffRole.rank(of: staff.roles) else { throw ConflictOfInterest.higherRole.error }
            switch holder.status {
            case .frozen:
                throw UserFacingError(code: "already_frozen", kind: .conflict, message: LocalizedText("该账号已被冻结。", "This account is already frozen."))
            case .closed:
                throw AccountError.accountState(.closed, reason: nil)
            default: break
            }
            let actor = AuditActor.staff(staff.id)
            var frozen: [AccountFreeze.FrozenCase] = []
            for var item in try await tx.cases.owned(by: accountID, in: CaseState.freezable) {
                frozen.append(.init(case: item.id, state: item.state))
                let effects = try await tx.cases.apply(.freeze, to: &item, actor: actor, rule: "staff.freeze", at: now)
                try await cases.perform(effects, on: &item, .init(applicant: holder, reason: "staff.freeze"), at: now, in: tx)
            }
            let freezeID = UUID()
            try await tx.appeals.insert(AccountFreeze(id: freezeID, accountID: accountID, frozenBy: staff.id, reason: reason, cases: frozen,
                                                      frozenAt: now, priorStatus: holder.status, priorStatusReason: holder.statusReason))
            try await tx.accounts.setStatus(accountID, to: .frozen, reason: reason, at: now)
            try await tx.audit("account.frozen", actor: actor, subject: AccountService.subject(accountID), ip: ip,
                               details: ["freeze": freezeID.lowercasedText, "cases": String(frozen.count)], at: now)
            try await PlatformEvents.verificationChanged(account: accountID, change: "frozen", at: now, in: tx)
            try await cases.notify(holder, template: "account_frozen", text: FreezeNotices.frozen(reason: reason, lang: holder.locale), in: tx)
        }
    }

    /// Lifts an account's freeze (staff), putting its cases back; a waiting appeal is withdrawn.
    func unfreeze(accountID: UUID, note: String?, staff: Account, ip: String?) async throws {
        let note = note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard note.count <= 500 else { throw AccountError.invalid(["note": "invalid_length"]) }
        let now = cases.now
        try await store.transaction { tx in
            guard let holder = try await tx.accounts.find(accountID) else { throw CommonErrors.notFound }
            guard StaffRole.rank(of: holder.roles) <= StaffRole.rank(of: staff.roles) else { throw ConflictOfInterest.higherRole.error }
            guard holder.status == .frozen, let freeze = try await tx.appeals.liveFreeze(of: accountID) else { throw Self.notFrozen }
            try await lift(freeze, holder: holder, how: "unfreeze", actor: .staff(staff.id), note: note.isEmpty ? nil : note, ip: ip, at: now, in: tx)
        }
    }

    /// Ends a freeze in the caller's transaction: every case it froze returns to where it was
    /// (a case frozen in review goes back to the queue with a new task; one waiting for its
    /// second confirmation gets a new code), the account returns to its earlier status, the
    /// holder is told.
    func lift(_ freeze: AccountFreeze, holder: Account, how: String, actor: AuditActor, note: String? = nil, ip: String?, at now: Date,
              in tx: Store) async throws {
        let accountID = holder.id
        // Back to what it was: active, still waiting for activation, or locked for its own reason.
        try await tx.accounts.setStatus(accountID, to: freeze.priorStatus, reason: freeze.priorStatusReason, at: now)
        for entry in freeze.cases {
            guard var item = try await tx.cases.find(entry.case), [.frozen, .appealed, .inReview].contains(item.state) else { continue }
            if item.state == .appealed {
                // The appeal waits no more: the freeze it contests is gone (its task ends with the restore).
                try await tx.appeals.withdrawOpen(caseID: entry.case, at: now)
            }
            let target: CaseState = entry.state == .inReview ? .needsReview : entry.state
            var seq = try await tx.cases.nextSeq(entry.case)
            let effects = try await tx.cases.move(.restore(target), &item, actor: actor, rule: how == "appeal" ? "appeal.upheld" : "staff.unfreeze",
                                                  at: now, seq: &seq)
            // Back in review: a new task; back to waiting for the code: a new code.
            try await cases.perform(effects, on: &item, .init(applicant: holder, reason: "staff.unfreeze"), at: now, in: tx)
            try await tx.cases.save(&item, at: now)
        }
        var liftedBy: UUID?
        if case .staff(let id) = actor { liftedBy = id }
        try await tx.appeals.lift(freeze, how: how, by: liftedBy, note: note, at: now)
        try await tx.audit("account.unfrozen", actor: actor, subject: AccountService.subject(accountID), ip: ip,
                           details: ["freeze": freeze.id.lowercasedText, "how": how], at: now)
        try await PlatformEvents.verificationChanged(account: accountID, change: "unfrozen", at: now, in: tx)
        try await cases.notify(holder, template: "account_unfrozen", text: FreezeNotices.unfrozen(lang: holder.locale), in: tx)
    }

    /// The applicant appeals a frozen or rejected case (once per case): a review task opens,
    /// to be decided by someone other than the staff member whose freeze or rejection it contests.
    func appeal(caseID: UUID, account: Account, reason: String?, ip: String?) async throws -> Case {
        let reason = try Self.text(reason, field: "reason", min: 4, max: 1000)
        let current = try await cases.own(caseID, account: account)
        guard current.state == .frozen || current.state == .rejected else {
            throw CaseService.transitionError(CaseTransitionError(from: current.state, action: "appeal"))
        }
        guard try await !store.appeals.hasAppeal(caseID: caseID) else {
            throw UserFacingError(code: "already_appealed", kind: .conflict,
                                  message: LocalizedText("该申请已申诉过一次，不能再次申诉。", "This application has already been appealed once."))
        }
        let program = try cases.program(current.program)
        let now = cases.now
        try await store.transaction { [cases] tx in
            var (record, seq) = try await tx.cases.lockedForMoves(caseID, version: current.version)
            let contests = current.state == .frozen ? "freeze" : "rejection"
            var contestedBy: UUID?
            var freezeID: UUID?
            if contests == "freeze" {
                let freeze = try await tx.appeals.liveFreeze(of: account.id)
                contestedBy = freeze?.frozenBy
                freezeID = freeze?.id
            } else {
                contestedBy = try await tx.cases.lastActor(of: caseID, into: .rejected)
            }
            let effects = try await tx.cases.move(.appeal, &record, actor: .account(account.id), rule: "appeal.\(contests)", at: now, seq: &seq)
            // The appeal's task, which the staff member it contests may not take.
            guard let taskID = try await cases.perform(effects, on: &record, .init(application: current.application, applicant: account, program: program,
                                                                                  reason: "appeal.\(contests)", excluded: contestedBy),
                                                       at: now, in: tx) else { throw CaseService.transitionError(CaseTransitionError(from: current.state, action: "appeal")) }
            try await tx.appeals.insert(CaseAppeal(id: UUID(), caseID: caseID, accountID: account.id, contests: contests, contestedBy: contestedBy,
                                                   freezeID: freezeID, reason: reason, taskID: taskID, createdAt: now))
            try await tx.cases.save(&record, at: now)
            try await tx.audit("case.appealed", actor: .account(account.id), subject: CaseService.subject(caseID), ip: ip,
                               details: ["contests": contests, "task": taskID.lowercasedText], at: now)
            try await cases.notify(account, template: "appeal_received", text: FreezeNotices.appealReceived(program: program, lang: account.locale), in: tx)
        }
        return try await cases.own(caseID, account: account)
    }

    /// The appeal a task decides, with its reason opened.
    func appeal(forTask taskID: UUID) async throws -> CaseAppeal? {
        try await store.appeals.appeal(forTask: taskID)
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
