import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// What staff see of accounts and of message delivery: an account with its sign-in lock, the
/// outbox with failed deliveries, and retrying one.
struct AdminController {
    let features: Features


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

    @Sendable func account(_ req: Request) async throws -> StaffAccountView {
        guard let account = try await features.accounts.account(try req.uuidParameter()) else { throw CommonErrors.notFound }
        return try await features.admin.view(account, staff: try req.requireAccount(), ip: req.clientIP)
    }

    @Sendable func unlock(_ req: Request) async throws -> StaffAccountView {
        try await features.admin.unlock(try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP)
    }

    struct FreezeInput: Content {
        var reason: String?
        var note: String?
    }

    @Sendable func freeze(_ req: Request) async throws -> StaffAccountView {
        try await changeFreeze(req) { service, id, input, staff in
            try await service.freeze(accountID: id, reason: input.reason, staff: staff, ip: req.clientIP)
        }
    }

    @Sendable func unfreeze(_ req: Request) async throws -> StaffAccountView {
        try await changeFreeze(req) { service, id, input, staff in
            try await service.unfreeze(accountID: id, note: input.note, staff: staff, ip: req.clientIP)
        }
    }

    /// Freezes or unfreezes the account `:id`, answering with the account as staff see it.
    func changeFreeze(_ req: Request, _ change: (FreezeService, UUID, FreezeInput, Account) async throws -> Void) async throws -> StaffAccountView {
        let staff = try req.requireAccount()
        let id = try req.uuidParameter()
        try await change(features.freezes, id, try req.content.decode(FreezeInput.self), staff)
        return try await features.admin.detail(id)
    }

    @Sendable func outbox(_ req: Request) async throws -> [OutboxEntryView] {
        let limit = min(max(req.query[Int.self, at: "limit"] ?? 100, 1), 500)
        return try await features.admin.outbox(status: req.query[String.self, at: "status"], limit: limit)
    }

    @Sendable func retry(_ req: Request) async throws -> OutboxEntryView {
        try await features.admin.retry(try req.uuidParameter(), admin: try req.requireAccount(), ip: req.clientIP)
    }
}
