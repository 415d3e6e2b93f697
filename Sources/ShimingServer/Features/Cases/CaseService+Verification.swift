import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Approval, the second confirmation and verification (identity codes, the verified profile, notices).
extension CaseService {
    // MARK: Approval, confirmation, verification

    /// An approved case either waits for the second confirmation code (sent now) or is verified.
    func completeApproval(_ record: CaseRecord, program: Program, account: Account, actor: AuditActor, at now: Date, seq: inout Int,
                          on tx: any Database) async throws {
        if let confirmation = program.confirmation {
            try await apply(.awaitConfirmation, to: record, actor: actor, rule: "program.confirmation", at: now, seq: &seq, on: tx)
            try await sendConfirmation(record, minutes: confirmation.minutes, account: account, at: now, on: tx)
        } else {
            try await verify(record, program: program, account: account, actor: actor, at: now, seq: &seq, on: tx)
        }
    }

    func sendConfirmation(_ record: CaseRecord, minutes: Int, account: Account, at now: Date, on tx: any Database) async throws {
        let id = try record.requireID()
        let code = OneTimeCodePolicy().generate(using: context.services.random)
        record.confirmationHash = secrets.hash("case_confirmation", id.uuidString.lowercased(), code)
        record.confirmationExpiresAt = now.addingTimeInterval(TimeInterval(minutes) * 60)
        record.confirmationAttempts = 0
        try await notify(account, template: "case_confirmation", text: Notices.confirmation(code: code, minutes: minutes, lang: account.locale),
                         code: code, on: tx)
        try await AuditLog.record("case.confirmation_sent", actor: .system, subject: Self.subject(id), ip: nil,
                                  details: ["minutes": String(minutes)], at: now, on: tx)
    }

    func verify(_ record: CaseRecord, program: Program, account: Account, actor: AuditActor, at now: Date, seq: inout Int,
                on tx: any Database) async throws {
        try await apply(.verify, to: record, actor: actor, rule: program.confirmation == nil ? "checks.approved" : "confirmation.entered",
                        at: now, seq: &seq, on: tx)
        record.verifiedAt = now
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        if let months = program.reverificationMonths {
            record.expiresAt = Calendar(identifier: .gregorian).date(byAdding: .month, value: months, to: now)
        }
        if program.issuesIdentityCode, let index = record.numberIndex {
            record.identityCode = try await identityCode(for: index, account: account.id, at: now, on: tx)
        }
        // A renewal replaces the verification it renews: that one ends now, without a notice.
        let id = try record.requireID()
        let renewed = try await CaseRecord.query(on: tx).filter(\.$accountID == account.id).filter(\.$program == program.key)
            .filter(\.$state == CaseState.verified.rawValue).filter(\.$id != id).all()
        for earlier in renewed {
            try await CaseStore.apply(.expire, to: earlier, actor: actor, rule: "program.renewed", at: now, on: tx)
            try await AuditLog.record("case.expired", actor: actor, subject: Self.subject(try earlier.requireID()), ip: nil,
                                      details: ["renewedBy": id.uuidString.lowercased()], at: now, on: tx)
        }
        let profile = try await takeVerifiedDetails(record, program: program, account: account.id, at: now, on: tx)
        try await AuditLog.record("case.verified", actor: actor, subject: Self.subject(try record.requireID()), ip: nil,
                                  details: ["program": program.key, "identityCode": record.identityCode ?? "",
                                            "profile": profile.joined(separator: ",")], at: now, on: tx)
        try await notify(account, template: "case_verified",
                         text: Notices.verified(program: program, code: record.identityCode, lang: account.locale), on: tx)
    }

    /// The verified name and gender become the account's (the profile shows them, masked, and
    /// change requests start from them). Returns what changed, for the audit event.
    func takeVerifiedDetails(_ record: CaseRecord, program: Program, account id: UUID, at now: Date, on tx: any Database) async throws -> [String] {
        guard let holder = try await AccountRecord.find(id, on: tx), holder.kind == Account.Kind.applicant.rawValue else { return [] }
        let app = try application(of: record)
        var changed: [String] = []
        if let name = app.identity.name {
            let current = try holder.legalNameSealed.map { try cipher.open($0, context: AccountRecord.context("legal_name", id)) }
            if current != name {
                holder.legalNameSealed = try cipher.seal(name, context: AccountRecord.context("legal_name", id))
                changed.append("legal_name")
            }
        }
        let facts = CaseEvaluator(program: program, today: today).identityNumber(app)?.facts
        if let gender = app.identity.gender ?? facts?.gender.rawValue, holder.gender != gender {
            holder.gender = gender
            changed.append("gender")
        }
        if !changed.isEmpty {
            holder.updatedAt = now
            try await holder.save(on: tx)
        }
        return changed
    }

    /// The person's identity code: the one they already have, or a new random one.
    func identityCode(for index: String, account: UUID, at now: Date, on tx: any Database) async throws -> String {
        if let existing = try await IdentityCodeRecord.query(on: tx).filter(\.$numberIndex == index).first() {
            return try existing.requireID()
        }
        for _ in 0..<8 {
            let code = IdentityCode.generate(using: context.services.random)
            guard try await IdentityCodeRecord.find(code, on: tx) == nil else { continue }
            let record = IdentityCodeRecord()
            record.id = code
            record.numberIndex = index
            record.accountID = account
            record.issuedAt = now
            try await record.create(on: tx)
            return code
        }
        throw UserFacingError(code: "identity_code_exhausted", kind: .conflict,
                              message: LocalizedText("暂时无法生成识别码，请稍后重试。", "No identity code could be drawn; try again."))
    }

    func notify(_ account: Account, template: String, text: String, code: String? = nil, on tx: any Database) async throws {
        let subject = LocalizedText("实名认证通知", "Your identity verification")(account.locale)
        guard let message = OutgoingMessage.notice(to: account, template: template, subject: subject,
                                                   text: MessageTemplates.brand(account.locale) + text, code: code) else { return }
        _ = try await Outbox(cipher: cipher).enqueue(message, at: now, on: tx)
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
        let expected = secrets.hash("case_confirmation", id.uuidString.lowercased(), code)
        let outcome = try await context.writeGate.transaction(on: db) { [self] tx -> ConfirmOutcome in
            let record = try await Self.locked(id, version: current.version, on: tx)
            guard let hash = record.confirmationHash, let expires = record.confirmationExpiresAt else {
                throw AccountError.codeExpired
            }
            if expires <= now {
                try await lockForConfirmation(record, account: account, why: "confirmation_timeout", at: now, on: tx)
                return .locked
            }
            record.version += 1
            record.updatedAt = now
            if SecretHasher.equal(hash, expected) {
                var seq = try await Self.nextSeq(id, on: tx)
                try await verify(record, program: program, account: account, actor: .account(account.id), at: now, seq: &seq, on: tx)
                try await record.save(on: tx)
                return .verified
            }
            record.confirmationAttempts += 1
            try await AuditLog.record("case.confirmation_failed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: ["attempts": String(record.confirmationAttempts)], at: now, on: tx)
            if record.confirmationAttempts >= maxAttempts {
                try await lockForConfirmation(record, account: account, why: "confirmation_attempts", at: now, on: tx)
                return .locked
            }
            try await record.save(on: tx)
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
    func lockForConfirmation(_ record: CaseRecord, account: Account, why: String, at now: Date, on tx: any Database) async throws {
        let id = try record.requireID()
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        try await CaseStore.save(record, at: now, on: tx)
        guard let accountRecord = try await AccountRecord.find(record.accountID, on: tx) else { return }
        if accountRecord.status != AccountStatus.locked.rawValue {
            accountRecord.status = AccountStatus.locked.rawValue
            accountRecord.statusReason = why
            accountRecord.updatedAt = now
            try await accountRecord.save(on: tx)
        }
        try await AuditLog.record("account.locked", actor: .system, subject: AccountService.subject(record.accountID), ip: nil,
                                  details: ["why": why, "case": id.uuidString.lowercased()], at: now, on: tx)
        try await RiskAlertService.raise(.failedVerification, subject: Self.subject(id), program: record.program,
                                         details: ["check": "confirmation", "code": why], at: now, in: Store(tx, context: context))
        try await notify(account, template: "account_locked", text: Notices.locked(lang: account.locale), on: tx)
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
        try await context.writeGate.transaction(on: db) { [self] tx in
            let record = try await Self.locked(id, version: current.version, on: tx)
            try await sendConfirmation(record, minutes: minutes, account: account, at: now, on: tx)
            try await CaseStore.save(record, at: now, on: tx)
        }
        return try await own(id, account: account)
    }
}
