import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// What staff do to accounts and message delivery outside a case: an account as staff see it
/// (with its sign-in lock), lifting a protective lock, the outbox with failed deliveries, and
/// sending one again. Pages and the API both go through here.
struct AdminService: Sendable {
    let context: ShimingContext
    let database: DatabaseProvider
    let accounts: AccountService
    var db: any Database { database() }

    init(context: ShimingContext, database: @escaping DatabaseProvider, accounts: AccountService) {
        self.context = context
        self.database = database
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
        guard let record = try await AccountRecord.find(id, on: db) else { return nil }
        return try await detail(record)
    }

    /// What staff see of one account, with its sign-in lock.
    func detail(_ record: AccountRecord) async throws -> StaffAccountView {
        let id = try record.requireID()
        let account = try record.account(cipher: context.cipher)
        let state = try await accounts.throttleState("account:\(id.uuidString.lowercased())", on: db)
        return StaffAccountView(
            account: .init(account), statusReason: account.statusReason,
            signInLockedUntil: accounts.throttle.lockEnd(state, now: now), recentFailedSignIns: state.failures.count
        )
    }

    /// Lifts a protective lock (and the sign-in lock with it), audited.
    func unlock(_ id: UUID, staff: Account, ip: String?) async throws -> StaffAccountView {
        let now = now
        try await context.writeGate.transaction(on: db) { tx in
            guard let record = try await AccountRecord.find(id, on: tx) else { throw CommonErrors.notFound }
            guard record.status == AccountStatus.locked.rawValue else {
                throw UserFacingError(code: "not_locked", kind: .conflict, message: LocalizedText("该账号未被锁定。", "This account is not locked."))
            }
            let reason = record.statusReason
            record.status = AccountStatus.active.rawValue
            record.statusReason = nil
            record.updatedAt = now
            try await record.save(on: tx)
            try await SignInThrottleRecord.query(on: tx).filter(\.$id == "account:\(id.uuidString.lowercased())").delete()
            try await AuditLog.record("account.unlocked", actor: .staff(staff.id), subject: "account:\(id.uuidString.lowercased())", ip: ip,
                                      details: ["was": reason ?? ""], at: now, on: tx)
        }
        return try await detail(id)
    }

    /// Outbox messages, newest first, recipients masked; `status` narrows to one state.
    func outbox(status: String?, limit: Int) async throws -> [OutboxEntryView] {
        var query = OutboxMessageRecord.query(on: db).sort(\.$createdAt, .descending)
        if let status {
            guard OutboxStatus(rawValue: status) != nil else { throw AccountError.invalid(["status": "invalid_value"]) }
            query = query.filter(\.$status == status)
        }
        return try await query.limit(limit).all().map(entry)
    }

    /// Puts a failed message back in the queue (audited).
    func retry(_ id: UUID, admin: Account, ip: String?) async throws -> OutboxEntryView {
        let now = now
        let record = try await context.writeGate.transaction(on: db) { tx -> OutboxMessageRecord? in
            guard let record = try await OutboxMessageRecord.find(id, on: tx) else { return nil }
            guard record.status == OutboxStatus.failed.rawValue else {
                throw UserFacingError(code: "not_failed", kind: .conflict,
                                      message: LocalizedText("只能重发发送失败的消息。", "Only failed messages can be sent again."),
                                      fields: ["status": record.status])
            }
            record.status = OutboxStatus.pending.rawValue
            record.attempts = 0
            record.nextAttemptAt = now
            try await record.save(on: tx)
            try await AuditLog.record("outbox.retried", actor: .staff(admin.id), subject: "outbox:\(id.uuidString.lowercased())", ip: ip,
                                      details: ["template": record.template], at: now, on: tx)
            return record
        }
        guard let record else { throw CommonErrors.notFound }
        return try entry(record)
    }

    /// One outbox row as staff see it: the recipient masked, the text never shown.
    func entry(_ record: OutboxMessageRecord) throws -> OutboxEntryView {
        let id = try record.requireID()
        let message = try? JSONDecoder().decode(
            OutgoingMessage.self, from: context.cipher.openData(record.payload, context: Outbox.payloadContext(id))
        )
        let to = message.map { message in
            switch message.channel {
            case .sms: MobileNumber.mask(message.to)
            case .email: EmailAddress.mask(message.to)
            case .webhook: message.to
            }
        } ?? "?"
        return OutboxEntryView(
            id: id, channel: record.channel, template: record.template, to: to, status: record.status, attempts: record.attempts,
            lastError: record.lastError, createdAt: record.createdAt, nextAttemptAt: record.nextAttemptAt, sentAt: record.sentAt
        )
    }
}
