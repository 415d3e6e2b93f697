import Foundation
import IdentityRules
import ShimingCore

/// What staff do to accounts and message delivery outside a case: an account as staff see it
/// (with its sign-in lock), lifting a protective lock, the outbox with failed deliveries, and
/// sending one again. Pages and the API both go through here.
struct AdminService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let accounts: AccountService
    var store: Store { stores() }

    init(context: ShimingContext, stores: @escaping StoreProvider, accounts: AccountService) {
        self.context = context
        self.stores = stores
        self.accounts = accounts
    }

    var now: Date { context.services.clock.now() }

    /// What staff see of the account `id`; 404 when there is none.
    func detail(_ id: UUID) async throws -> StaffAccountView {
        guard let detail = try await detailIfPresent(id) else { throw CommonErrors.notFound }
        return detail
    }

    /// The same, or nil when there is no such account (a look-up page shows "not found").
    func detailIfPresent(_ id: UUID) async throws -> StaffAccountView? {
        guard let account = try await store.accounts.find(id) else { return nil }
        return try await detail(account)
    }

    /// What staff see of one account, recorded as a look at that account (the person's access
    /// log shows it, by the staff member's role).
    func view(_ account: Account, staff: Account, ip: String?) async throws -> StaffAccountView {
        try await store.auditAlone("account.viewed", actor: .staff(staff.id), subject: AccountService.subject(account.id), ip: ip, at: now)
        return try await detail(account)
    }

    /// What staff see of one account, with its sign-in lock.
    func detail(_ account: Account) async throws -> StaffAccountView {
        let lock = try await accounts.signInLock(of: account.id, in: store, at: now)
        return StaffAccountView(
            account: .init(account), statusReason: account.statusReason,
            signInLockedUntil: lock.until, recentFailedSignIns: lock.failures
        )
    }

    /// Lifts a protective lock (and the sign-in lock with it), audited.
    func unlock(_ id: UUID, staff: Account, ip: String?) async throws -> StaffAccountView {
        let now = now
        try await store.transaction { tx in
            guard let account = try await tx.accounts.find(id) else { throw CommonErrors.notFound }
            guard account.status == .locked else {
                throw UserFacingError(code: "not_locked", kind: .conflict, message: LocalizedText("该账号未被锁定。", "This account is not locked."))
            }
            try await tx.accounts.setStatus(id, to: .active, reason: nil, at: now)
            try await accounts.clearSignInThrottles(of: id, in: tx)
            try await tx.audit("account.unlocked", actor: .staff(staff.id), subject: AccountService.subject(id), ip: ip,
                               details: ["was": account.statusReason ?? ""], at: now)
        }
        return try await detail(id)
    }

    /// Outbox messages, newest first, recipients masked; `status` narrows to one state.
    func outbox(status: String?, limit: Int) async throws -> [OutboxEntryView] {
        var wanted: OutboxStatus?
        if let status {
            guard let one = OutboxStatus(rawValue: status) else { throw AccountError.invalid(["status": "invalid_value"]) }
            wanted = one
        }
        return try await store.outbox.list(status: wanted, limit: limit).map(Self.view)
    }

    /// How many messages failed for good (they wait for someone to send them again).
    func failedMessageCount() async throws -> Int { try await store.outbox.count(in: .failed) }

    /// Puts a failed message back in the queue (audited).
    func retry(_ id: UUID, admin: Account, ip: String?) async throws -> OutboxEntryView {
        let now = now
        let entry = try await store.transaction { tx -> OutboxEntry in
            guard let entry = try await tx.outbox.find(id) else { throw CommonErrors.notFound }
            guard try await tx.outbox.requeueFailed(id, at: now), let requeued = try await tx.outbox.find(id) else {
                throw UserFacingError(code: "not_failed", kind: .conflict,
                                      message: LocalizedText("只能重发发送失败的消息。", "Only failed messages can be sent again."),
                                      fields: ["status": entry.status.rawValue])
            }
            try await tx.audit("outbox.retried", actor: .staff(admin.id), subject: "outbox:\(id.lowercasedText)", ip: ip,
                               details: ["template": entry.template], at: now)
            return requeued
        }
        return Self.view(entry)
    }

    /// One outbox message as staff see it: the recipient masked, the text never shown.
    static func view(_ entry: OutboxEntry) -> OutboxEntryView {
        let to = entry.message.map { message in
            switch message.channel {
            case .sms: MobileNumber.mask(message.to)
            case .email: EmailAddress.mask(message.to)
            case .webhook: message.to
            }
        } ?? "?"
        return OutboxEntryView(
            id: entry.id, channel: entry.channel, template: entry.template, to: to, status: entry.status.rawValue, attempts: entry.attempts,
            lastError: entry.lastError, createdAt: entry.createdAt, nextAttemptAt: entry.nextAttemptAt, sentAt: entry.sentAt
        )
    }
}
