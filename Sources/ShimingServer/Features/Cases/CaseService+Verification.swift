import Foundation
import IdentityRules
import ShimingCore

/// Approval, the second confirmation and verification (identity codes, the verified profile, notices).
extension CaseService {
    // MARK: Approval, confirmation, verification

    /// An approved case either waits for the second confirmation code (sent now) or is verified.
    /// `application` is the case's application when the caller has it open already (else it is
    /// opened from the record). `reads`: the verification's reads, when the transaction has read
    /// them already (`Store.submissionReads`).
    func completeApproval(_ record: inout StoredCase, program: Program, account: Account, actor: AuditActor, application: CaseApplication? = nil,
                          reads: VerificationReads? = nil, at now: Date, seq: inout Int, in tx: Store) async throws {
        if program.confirmation != nil {
            let effects = try await tx.cases.move(.awaitConfirmation, &record, actor: actor, rule: "program.confirmation", at: now, seq: &seq)
            try await perform(effects, on: &record, .init(applicant: account, program: program, reason: "program.confirmation"), at: now, in: tx)
        } else {
            try await verify(&record, program: program, account: account, actor: actor, application: application, reads: reads, at: now,
                             seq: &seq, in: tx)
        }
    }

    func sendConfirmation(_ record: inout StoredCase, minutes: Int, account: Account, at now: Date, in tx: Store) async throws {
        let id = record.id
        let code = OneTimeCodePolicy().generate(using: context.services.random)
        record.confirmationHash = secrets.hash("case_confirmation", id.lowercasedText, code)
        record.confirmationExpiresAt = now.addingTimeInterval(TimeInterval(minutes) * 60)
        record.confirmationAttempts = 0
        try await notify(account, template: "case_confirmation", text: Notices.confirmation(code: code, minutes: minutes, lang: account.locale),
                         code: code, in: tx)
        try await tx.audit("case.confirmation_sent", actor: .system, subject: Self.subject(id), ip: nil,
                           details: ["minutes": String(minutes)], at: now)
    }

    func verify(_ record: inout StoredCase, program: Program, account: Account, actor: AuditActor, application: CaseApplication? = nil,
                reads given: VerificationReads? = nil, at now: Date, seq: inout Int, in tx: Store) async throws {
        try await tx.cases.move(.verify, &record, actor: actor, rule: program.confirmation == nil ? "checks.approved" : "confirmation.entered",
                                at: now, seq: &seq)
        record.verifiedAt = now
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        if let months = program.reverificationMonths {
            record.expiresAt = Calendar(identifier: .gregorian).date(byAdding: .month, value: months, to: now)
        }
        if program.issuesIdentityCode, let index = try numberProbe(of: record) {
            record.identityCode = try await identityCode(for: index, account: account.id, at: now, in: tx)
        }
        // A renewal replaces the verification it renews: that one ends now, without a notice.
        let id = record.id
        let reads: VerificationReads
        if let given { reads = given } else { reads = try await tx.verificationReads(account: account.id, program: program.key, excluding: id, at: now) }
        let earlierOnes = reads.earlier
        for var earlier in earlierOnes {
            try await tx.cases.apply(.expire, to: &earlier, actor: actor, rule: "program.renewed", at: now)
            try await tx.audit("case.expired", actor: actor, subject: Self.subject(earlier.id), ip: nil,
                               details: ["renewedBy": id.lowercasedText], at: now)
        }
        let profile = try await takeVerifiedDetails(record, program: program, account: account.id, holder: reads.holder, application: application,
                                                    at: now, in: tx)
        try await tx.audit("case.verified", actor: actor, subject: Self.subject(id), ip: nil,
                           details: ["program": program.key, "identityCode": record.identityCode ?? "",
                                     "profile": profile.joined(separator: ",")], at: now)
        // Platforms the person authorised hear of a renewal (or a verification under another program).
        try await PlatformEvents.verificationChanged(account: account.id, change: earlierOnes.isEmpty ? "verified" : "renewed", grants: reads.grants,
                                                     at: now, in: tx)
        try await notify(account, template: "case_verified",
                         text: Notices.verified(program: program, code: record.identityCode, lang: account.locale), in: tx)
    }

    /// The verified name and gender become the account's (the profile shows them, masked, and
    /// change requests start from them). Returns what changed, for the audit event. `holder`
    /// is the account's verified identity as the transaction read it (nil: the account is gone).
    func takeVerifiedDetails(_ record: StoredCase, program: Program, account id: UUID, holder: AccountStore.VerifiedIdentity?,
                             application opened: CaseApplication? = nil, at now: Date, in tx: Store) async throws -> [String] {
        guard let holder, holder.kind == .applicant else { return [] }
        let app = try opened ?? application(of: record)
        var changed: [String] = []
        var legalName: String?
        if let name = app.identity.name, holder.legalName != name {
            legalName = name
            changed.append("legal_name")
        }
        var newGender: String?
        let facts = CaseEvaluator(program: program, today: today).identityNumber(app)?.facts
        if let gender = app.identity.gender ?? facts?.gender.rawValue, holder.gender != gender {
            newGender = gender
            changed.append("gender")
        }
        if !changed.isEmpty {
            try await tx.accounts.setVerifiedIdentity(id, legalName: legalName, gender: newGender, at: now)
        }
        return changed
    }

    /// The person's identity code: the one they already have, or a new random one.
    func identityCode(for index: IndexProbe, account: UUID, at now: Date, in tx: Store) async throws -> String {
        if let existing = try await tx.cases.identityCode(numberIndex: index) { return existing }
        for _ in 0..<8 {
            let code = IdentityCode.generate(using: context.services.random)
            if try await tx.cases.issueIdentityCode(code, numberIndex: index.stored, account: account, at: now) { return code }
        }
        throw UserFacingError(code: "identity_code_exhausted", kind: .conflict,
                              message: LocalizedText("暂时无法生成识别码，请稍后重试。", "No identity code could be drawn; try again."))
    }

    func notify(_ account: Account, template: String, text: String, code: String? = nil, in tx: Store) async throws {
        let subject = LocalizedText("实名认证通知", "Your identity verification")(account.locale)
        guard let message = OutgoingMessage.notice(to: account, template: template, subject: subject,
                                                   text: MessageTemplates.brand(account.locale) + text, code: code) else { return }
        try await tx.enqueue(message, at: now)
    }

    enum ConfirmOutcome: Sendable {
        case verified
        case wrong(remaining: Int)
        case locked
    }

    /// The second confirmation (P1): the right code in time verifies the case; a code entered
    /// too late, or too many wrong codes, lock the account until staff unlock it.
    func confirm(_ id: UUID, account: Account, code: String?, ip: String?) async throws -> Case {
        try account.checkMayAct()
        guard let code = code?.trimmingCharacters(in: .whitespaces), !code.isEmpty else { throw AccountError.invalid(["code": "required"]) }
        let current = try await own(id, account: account)
        guard current.state == .awaitingConfirmation else {
            throw Self.transitionError(CaseTransitionError(from: current.state, action: CaseAction.verify.name))
        }
        let program = try program(current.program)
        let maxAttempts = program.confirmation?.maxAttempts ?? 5
        let now = self.now
        let expected = secrets.hash("case_confirmation", id.lowercasedText, code)
        let outcome = try await store.transaction { [self] tx -> ConfirmOutcome in
            var (record, seq) = try await tx.cases.lockedForMoves(id, version: current.version)
            guard let hash = record.confirmationHash, let expires = record.confirmationExpiresAt else {
                throw AccountError.codeExpired
            }
            if expires <= now {
                try await lockForConfirmation(&record, account: account, why: "confirmation_timeout", at: now, in: tx)
                return .locked
            }
            if SecretHasher.equal(hash, expected) {
                try await verify(&record, program: program, account: account, actor: .account(account.id), at: now, seq: &seq, in: tx)
                try await tx.cases.save(&record, at: now)
                return .verified
            }
            // Counted in the save that checks the version: of two wrong codes at once, one
            // is counted and the other is refused as `case_changed`.
            record.confirmationAttempts += 1
            try await tx.audit("case.confirmation_failed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["attempts": String(record.confirmationAttempts)], at: now)
            if record.confirmationAttempts >= maxAttempts {
                try await lockForConfirmation(&record, account: account, why: "confirmation_attempts", at: now, in: tx)
                return .locked
            }
            try await tx.cases.save(&record, at: now)
            return .wrong(remaining: maxAttempts - record.confirmationAttempts)
        }
        switch outcome {
        case .verified: return try await own(id, account: account)
        case .wrong(let remaining):
            throw UserFacingError(code: "invalid_code", kind: .invalidInput,
                                  message: LocalizedText("验证码不正确，还可以再试 \(remaining) 次。", "The code is not correct; \(remaining) more tries."),
                                  fields: ["code": "invalid"])
        case .locked: throw Self.confirmationLocked
        }
    }

    static let confirmationLocked = UserFacingError(
        code: "account_locked", kind: .forbidden,
        message: LocalizedText("未在规定时间内正确输入确认码，为保护您的信息，账号已锁定。请联系管理员解锁。",
                               "The confirmation code was not entered correctly in time; the account is locked to protect your data. Ask an administrator to unlock it.")
    )

    /// Locks the applicant's account because the confirmation failed (P1), in the caller's transaction.
    func lockForConfirmation(_ record: inout StoredCase, account: Account, why: String, at now: Date, in tx: Store) async throws {
        let id = record.id
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        try await tx.cases.save(&record, at: now)
        guard let holder = try await tx.accounts.find(record.accountID) else { return }
        if holder.status != .locked {
            try await tx.accounts.setStatus(holder.id, to: .locked, reason: why, at: now)
        }
        try await tx.audit("account.locked", actor: .system, subject: AccountService.subject(record.accountID), ip: nil,
                           details: ["why": why, "case": id.lowercasedText], at: now)
        try await RiskAlertService.raise(.failedVerification, subject: Self.subject(id), program: record.program,
                                         details: ["check": "confirmation", "code": why], at: now, in: tx)
        try await notify(account, template: "account_locked", text: Notices.locked(lang: account.locale), in: tx)
    }

    /// A new confirmation code, when the last one ran out or was used up (after staff unlocked
    /// the account), or a minute after it was sent.
    func resendConfirmation(_ id: UUID, account: Account, ip: String?) async throws -> Case {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state == .awaitingConfirmation else {
            throw Self.transitionError(CaseTransitionError(from: current.state, action: "resend_confirmation"))
        }
        let program = try program(current.program)
        let minutes = program.confirmation?.minutes ?? 30
        let now = self.now
        if let expires = current.confirmationExpiresAt, expires > now {
            let sent = expires.addingTimeInterval(-TimeInterval(minutes) * 60)
            let wait = 60 - now.timeIntervalSince(sent)
            if wait > 0 { throw AccountError.rateLimited(seconds: Int(wait.rounded(.up))) }
        }
        try await store.transaction { [self] tx in
            var record = try await tx.cases.locked(id, version: current.version)
            try await sendConfirmation(&record, minutes: minutes, account: account, at: now, in: tx)
            try await tx.cases.save(&record, at: now)
        }
        return try await own(id, account: account)
    }
}
