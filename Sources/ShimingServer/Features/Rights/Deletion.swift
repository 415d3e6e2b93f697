import Foundation
import ShimingCore

/// The right to deletion (PIPL art. 47). A person asks (`POST /api/v1/me/deletion`, or “注销账号”
/// on My account) with their password: they are signed out, told by message what will happen,
/// and the account is erased after a grace period of 7 days unless they sign in before (which
/// cancels it). An administrator can erase at once, with a reason. Erasing revokes the
/// platforms' grants (each platform is told), withdraws the applications still being worked on,
/// shreds every application, removes documents, proofs, change requests, feedback, messages,
/// codes, sessions and the contacts' blind indexes, and scrubs the account row. What stays is
/// pseudonymous and listed in `kept`.
struct DeletionService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let accounts: AccountService
    let cases: CaseService

    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    /// How long a request waits, during which signing in cancels it.
    static let grace: TimeInterval = 7 * 86_400

    /// What is kept after erasure, and why: told to the person when they ask.
    static let kept: [(key: String, text: LocalizedText)] = [
        ("applications", LocalizedText("每项实名申请的事实（认证项目、状态和时间，不含任何身份信息）：证明认证曾经发生，供依法查询。",
                                       "The fact of each application (program, state and times, without any identity data): it shows that a verification happened, for lawful enquiries.")),
        ("audit", LocalizedText("防篡改的审计日志（不含明文个人信息）：法律要求至少保存六个月，且不能删改。",
                                "The tamper-evident audit log (no personal data in clear): the law requires it be kept at least six months, unaltered.")),
        ("consents", LocalizedText("您同意过哪些文本的记录（版本和时间，不含设备信息）：证明处理曾经合法。",
                                   "Which texts you accepted (version and time, without your device): it shows the processing was lawful.")),
        ("grants", LocalizedText("授权平台的记录（平台看到的是匿名编号）：平台需要知道授权已经撤回。",
                                 "The record of platform grants (the platforms saw only a pseudonymous id): they need to know it was withdrawn.")),
    ]

    static let wrongPassword = UserFacingError(
        code: "invalid_credentials", kind: .invalidInput,
        message: LocalizedText("密码不正确。", "The password is not correct."), fields: ["password": "wrong_current_password"]
    )

    /// Records the request: due in 7 days; every session ends; the person is told.
    func request(_ account: Account, password: String?, ip: String?) async throws -> Date {
        guard let password, !password.isEmpty else { throw AccountError.invalid(["password": "required"]) }
        // Staff accounts are closed by an administrator; a frozen account is held for its review.
        guard account.kind == .applicant else { throw CommonErrors.forbidden }
        guard account.status != .frozen else { throw AccountError.accountState(account.status, reason: account.statusReason) }
        let hash = try await store.accounts.passwordHash(of: account.id)
        guard let hash, try await context.passwordHasher.verify(password, against: hash) else { throw Self.wrongPassword }
        let now = self.now
        let due = now.addingTimeInterval(Self.grace)
        try await store.transaction { tx in
            guard try await tx.erasure.setDeletionDue(account.id, at: due) else { throw CommonErrors.notFound }
            try await tx.sessions.revokeAll(of: account.id, except: nil, at: now)
            try await tx.audit("account.deletion_requested", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                               details: ["due": RFC3339.string(from: due)], at: now)
            if var message = OutgoingMessage.notice(to: account, template: "deletion_requested", subject: Notices.deletionSubject(account.locale),
                                                    text: Notices.deletionRequested(on: due, lang: account.locale)) {
                message.account = account.id
                try await tx.enqueue(message, at: now)
            }
        }
        return due
    }

    /// A sign-in within the grace period cancelled the request (in the sign-in's transaction).
    static func cancelled(_ account: Account, ip: String?, at now: Date, in tx: Store) async throws {
        try await tx.audit("account.deletion_cancelled", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                           details: ["by": "sign_in"], at: now)
        if var message = OutgoingMessage.notice(to: account, template: "deletion_cancelled", subject: Notices.deletionSubject(account.locale),
                                                text: Notices.deletionCancelled(account.locale)) {
            message.account = account.id
            try await tx.enqueue(message, at: now)
        }
    }

    /// Erases the accounts whose grace period is over; answers how many.
    func eraseDue() async throws -> Int {
        try await context.accountKeys.destroy(store.erasure.erased(since: now.addingTimeInterval(-7 * 86_400)))
        var erased = 0
        for id in try await store.erasure.due(at: now, limit: 100) where try await erase(id, by: .system, reason: nil, ip: nil) {
            erased += 1
        }
        return erased
    }

    /// An administrator erases an account at once, giving the reason.
    func erase(_ id: UUID, staff: Account, reason: String?, ip: String?) async throws {
        guard let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty else {
            throw AccountError.invalid(["reason": "required"])
        }
        guard reason.count <= 500 else { throw AccountError.invalid(["reason": "invalid_length"]) }
        guard let account = try await store.accounts.find(id), account.kind == .applicant else { throw CommonErrors.notFound }
        guard try await erase(account, by: .staff(staff.id), reason: reason, ip: ip) else {
            throw UserFacingError(code: "already_erased", kind: .conflict, message: LocalizedText("该账号已经注销。", "This account was already erased."))
        }
    }

    /// Erases one account in one transaction (the file bytes after the commit); false when it
    /// was erased already (by another sweep or instance).
    func erase(_ id: UUID, by actor: AuditActor, reason: String?, ip: String?) async throws -> Bool {
        guard let account = try await store.accounts.find(id) else { return false }
        return try await erase(account, by: actor, reason: reason, ip: ip)
    }

    private func erase(_ account: Account, by actor: AuditActor, reason: String?, ip: String?) async throws -> Bool {
        let id = account.id
        let now = self.now
        let indexes = [account.phone.map(accounts.phoneIndex), account.guardianPhone.map(accounts.phoneIndex), account.email.map(accounts.emailIndex)]
            .compactMap { $0 }.flatMap(\.accepted)
        let result = try await store.transaction { [cases, context] tx -> (files: [UUID], cases: Int, grants: Int)? in
            try await tx.erasure.zeroDeletedContent()
            // The sweep erases only what is still due (a sign-in may just have cancelled it).
            guard try await tx.erasure.scrubAccount(id, onlyIfDueBy: actor == .system ? now : nil, at: now) else { return nil }
            // The platforms learn that their grants ended.
            let grants = try await tx.grants.revoke(account: id, by: "erased", at: now)
            for grantID in grants {
                guard let grant = try await tx.grants.find(grantID), let platform = try await tx.platforms.find(grant.platformID) else { continue }
                try await PlatformEvents.enqueue(PlatformEvents.grantRevoked, to: platform,
                                                 data: ["grant": grantID.uuidString, "subject": grant.subject], at: now, in: tx)
            }
            // Applications: those still being worked on are withdrawn, every one is shredded.
            let owned = try await tx.cases.owned(by: id)
            for candidate in owned {
                var record = candidate
                if CaseState.withdrawable.contains(record.state) {
                    let effects = try await tx.cases.apply(.withdraw, to: &record, actor: actor, rule: "account.erased", at: now)
                    try await cases.perform(effects, on: &record, .init(applicant: account, reason: "account.erased"), at: now, in: tx)
                } else {
                    try await tx.reviewTasks.cancelOpen(caseID: record.id, at: now)
                }
                _ = try await tx.retention.shred(record, at: now)
            }
            let files = try await tx.erasure.removeRows(of: id, cases: owned.map(\.id)) + tx.exports.removeAll(of: id)
            try await tx.erasure.removeCounters(indexes: indexes)
            var details = ["applications": String(owned.count), "files": String(files.count), "grants": String(grants.count),
                           "by": actor == .system ? "request" : "staff"]
            if let reason { details["reason"] = try context.cipher.seal(reason, context: Self.reasonContext(id)) }
            try await tx.audit("account.erased", actor: actor, subject: AccountService.subject(id), ip: ip, details: details, at: now)
            return (files, owned.count, grants.count)
        }
        guard let result else { return false }
        // The account's key goes last, after the commit: every copy of what was sealed under it,
        // in backups too, can no longer be read. (Should this process die first, the sweep
        // destroys the keys of accounts erased in the past week.)
        try await context.accountKeys.destroy([id])
        for file in result.files { try? await context.files.remove(file) }
        // SQLite: the erased pages are zeroed (secure_delete); the log is folded in so no old copy stays beside the file.
        try? await store.erasure.foldLog()
        return true
    }

    static func reasonContext(_ id: UUID) -> String { "account.erase_reason.\(id.lowercasedText)" }
}
