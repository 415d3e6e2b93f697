import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// What staff see of accounts and of message delivery: an account with its sign-in lock, the
/// outbox with failed deliveries, and retrying one.
struct AdminController {
    struct AccountDetail: Content {
        var account: AccountsController.AccountBody
        var statusReason: String?
        /// When sign-in is locked after repeated failures: until when.
        var signInLockedUntil: Date?
        var recentFailedSignIns: Int
    }

    struct OutboxEntry: Content {
        var id: UUID
        var channel: String
        var template: String
        /// The recipient, masked.
        var to: String
        var status: String
        var attempts: Int
        var lastError: String?
        var createdAt: Date
        var nextAttemptAt: Date
        var sentAt: Date?
    }

    static let outboxSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "channel": .string(allowed: ["sms", "email", "webhook"]), "template": .string(),
        "to": .string(description: "masked"), "status": .string(allowed: ["pending", "sending", "sent", "failed"]),
        "attempts": .integer(), "lastError": .nullable(.string()), "createdAt": .string(format: "date-time"),
        "nextAttemptAt": .string(format: "date-time"), "sentAt": .nullable(.string(format: "date-time")),
    ], required: ["id", "channel", "template", "to", "status", "attempts", "createdAt", "nextAttemptAt"])

    static let detailSchema: JSONSchema = .object([
        "account": .ref("Account"), "statusReason": .nullable(.string()),
        "signInLockedUntil": .nullable(.string(format: "date-time")), "recentFailedSignIns": .integer(),
    ], required: ["account", "recentFailedSignIns"])

    func register(_ routes: any RoutesBuilder) {
        let admin = routes.grouped("api", "v1", "admin")
        admin.on(.GET, "accounts", ":id", documentation: APIOperation(
            "getAccountForStaff", summary: "An account as staff see it, with any sign-in lock", tag: "admin",
            responses: [200: .init("The account", schema: .ref("AccountDetail"))],
            components: ["AccountDetail": Self.detailSchema],
            access: .staff(AccessPolicy.readAccounts)
        ), use: account)
        admin.on(.POST, "accounts", ":id", "unlock", documentation: APIOperation(
            "unlockAccount", summary: "Unlock an account locked to protect it (e.g. a second confirmation not entered in time); clears the sign-in lock too",
            tag: "admin",
            responses: [200: .init("The account", schema: .ref("AccountDetail"))],
            components: ["AccountDetail": Self.detailSchema],
            access: .staff(AccessPolicy.supervise)
        ), use: unlock)
        admin.on(.POST, "accounts", ":id", "freeze", documentation: APIOperation(
            "freezeAccount", summary: "Freeze an account with a reason the holder reads; its live cases are frozen with it and the holder is told (SMS/e-mail)",
            tag: "admin", requestBody: .object(["reason": .string(description: "2–500 characters")], required: ["reason"]),
            responses: [200: .init("The account", schema: .ref("AccountDetail")), 409: .init("already_frozen")],
            components: ["AccountDetail": Self.detailSchema],
            access: .staff(AccessPolicy.supervise)
        ), use: freeze)
        admin.on(.POST, "accounts", ":id", "unfreeze", documentation: APIOperation(
            "unfreezeAccount", summary: "Lift a freeze: the cases return to where they were; a waiting appeal is withdrawn", tag: "admin",
            requestBody: .object(["note": .string()]),
            responses: [200: .init("The account", schema: .ref("AccountDetail")), 409: .init("not_frozen")],
            components: ["AccountDetail": Self.detailSchema],
            access: .staff(AccessPolicy.supervise)
        ), use: unfreeze)
        admin.on(.GET, "outbox", documentation: APIOperation(
            "listOutbox", summary: "Outbox messages, newest first; `status=failed` lists deliveries that gave up", tag: "admin",
            query: ["status": .string(allowed: ["pending", "sending", "sent", "failed"]), "limit": .integer()],
            responses: [200: .init("Messages (recipients masked)", schema: .array(.ref("OutboxEntry")))],
            components: ["OutboxEntry": Self.outboxSchema],
            access: .staff(AccessPolicy.readOutbox)
        ), use: outbox)
        admin.on(.POST, "outbox", ":id", "retry", documentation: APIOperation(
            "retryOutboxMessage", summary: "Send a failed message again", tag: "admin",
            responses: [200: .init("Queued again", schema: .ref("OutboxEntry"))],
            access: .staff(AccessPolicy.administer)
        ), use: retry)
    }

    @Sendable func account(_ req: Request) async throws -> AccountDetail {
        guard let id = req.parameters.get("id", as: UUID.self), let record = try await AccountRecord.find(id, on: req.db) else {
            throw HTTPFailure.error(for: .notFound)
        }
        return try await Self.detail(record, req)
    }

    @Sendable func unlock(_ req: Request) async throws -> AccountDetail {
        let staff = try req.requireAccount()
        guard let id = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        let now = req.now, ip = req.clientIP
        try await req.shiming.writeGate.transaction(on: req.db) { tx in
            guard let record = try await AccountRecord.find(id, on: tx) else { throw HTTPFailure.error(for: .notFound) }
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
        guard let record = try await AccountRecord.find(id, on: req.db) else { throw HTTPFailure.error(for: .notFound) }
        return try await Self.detail(record, req)
    }

    struct FreezeInput: Content {
        var reason: String?
        var note: String?
    }

    @Sendable func freeze(_ req: Request) async throws -> AccountDetail {
        try await changeFreeze(req) { service, id, input, staff in
            try await service.freeze(accountID: id, reason: input.reason, staff: staff, ip: req.clientIP)
        }
    }

    @Sendable func unfreeze(_ req: Request) async throws -> AccountDetail {
        try await changeFreeze(req) { service, id, input, staff in
            try await service.unfreeze(accountID: id, note: input.note, staff: staff, ip: req.clientIP)
        }
    }

    /// Freezes or unfreezes the account `:id`, answering with the account as staff see it.
    func changeFreeze(_ req: Request, _ change: (FreezeService, UUID, FreezeInput, Account) async throws -> Void) async throws -> AccountDetail {
        let staff = try req.requireAccount()
        guard let id = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        try await change(FreezeService(application: req.application), id, try req.content.decode(FreezeInput.self), staff)
        guard let record = try await AccountRecord.find(id, on: req.db) else { throw HTTPFailure.error(for: .notFound) }
        return try await Self.detail(record, req)
    }

    /// What staff see of one account, with its sign-in lock.
    static func detail(_ record: AccountRecord, _ req: Request) async throws -> AccountDetail {
        let id = try record.requireID()
        let account = try record.account(cipher: req.shiming.cipher)
        let service = AccountService(application: req.application)
        let state = try await service.throttleState("account:\(id.uuidString.lowercased())", on: req.db)
        return AccountDetail(
            account: .init(account), statusReason: account.statusReason,
            signInLockedUntil: service.throttle.lockEnd(state, now: req.now), recentFailedSignIns: state.failures.count
        )
    }

    static func entry(_ record: OutboxMessageRecord, cipher: FieldCipher) throws -> OutboxEntry {
        let id = try record.requireID()
        let message = try? JSONDecoder().decode(
            OutgoingMessage.self, from: cipher.openData(record.payload, context: Outbox.payloadContext(id))
        )
        let to = message.map { message in
            switch message.channel {
            case .sms: MobileNumber.mask(message.to)
            case .email: EmailAddress.mask(message.to)
            case .webhook: message.to
            }
        } ?? "?"
        return OutboxEntry(
            id: id, channel: record.channel, template: record.template, to: to, status: record.status, attempts: record.attempts,
            lastError: record.lastError, createdAt: record.createdAt, nextAttemptAt: record.nextAttemptAt, sentAt: record.sentAt
        )
    }

    @Sendable func outbox(_ req: Request) async throws -> [OutboxEntry] {
        let limit = min(max(req.query[Int.self, at: "limit"] ?? 100, 1), 500)
        return try await Self.entries(status: req.query[String.self, at: "status"], limit: limit, req)
    }

    /// Outbox messages, newest first, recipients masked.
    static func entries(status: String?, limit: Int, _ req: Request) async throws -> [OutboxEntry] {
        var query = OutboxMessageRecord.query(on: req.db).sort(\.$createdAt, .descending)
        if let status {
            guard OutboxStatus(rawValue: status) != nil else { throw AccountError.invalid(["status": "invalid_value"]) }
            query = query.filter(\.$status == status)
        }
        let cipher = req.shiming.cipher
        return try await query.limit(limit).all().map { try entry($0, cipher: cipher) }
    }

    @Sendable func retry(_ req: Request) async throws -> OutboxEntry {
        let admin = try req.requireAccount()
        guard let id = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        return try await Self.retry(id, admin: admin, req)
    }

    /// Puts a failed message back in the queue (audited).
    static func retry(_ id: UUID, admin: Account, _ req: Request) async throws -> OutboxEntry {
        let now = req.now
        let ip = req.clientIP
        let record = try await req.shiming.writeGate.transaction(on: req.db) { tx -> OutboxMessageRecord? in
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
        guard let record else { throw HTTPFailure.error(for: .notFound) }
        return try entry(record, cipher: req.shiming.cipher)
    }
}
