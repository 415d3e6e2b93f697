import Foundation
import ShimingCore
import Vapor

/// `POST /api/v1/me/password`, `POST /api/v1/password-resets`, `PATCH /api/v1/me`.
struct ProfileController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        let api = routes.grouped("api", "v1")
        api.on(.POST, "me", "password", documentation: APIOperation(
            "changePassword", summary: "Change the password (the current one is required); other sessions end", tag: "accounts",
            requestBody: .object(["current": .string(), "new": .string()], required: ["current", "new"]),
            responses: [204: .init("Changed")], access: .signedIn
        ), use: changePassword)
        api.on(.POST, "password-resets", documentation: APIOperation(
            "resetPassword", summary: "Set a new password with a reset code sent to a confirmed contact", tag: "accounts",
            requestBody: .object([
                "channel": .string(allowed: ["sms", "email"]), "destination": .string(), "code": .string(), "password": .string(),
            ], required: ["channel", "destination", "code", "password"]),
            responses: [204: .init("Password set; every session ended")]
        ), use: resetPassword)
        api.on(.PATCH, "me", documentation: APIOperation(
            "updateMe", summary: "Edit the profile; username, legal name and gender are refused with field_locked", tag: "accounts",
            requestBody: .object(["displayName": .string(), "locale": .string(allowed: ["zh-CN", "en"]),
                                  "username": .string(description: "locked: refused with field_locked (use a change request)"),
                                  "legalName": .string(description: "locked: refused with field_locked (use a change request)"),
                                  "gender": .string(description: "locked: refused with field_locked (use a change request)")]),
            responses: [200: .init("The account", schema: .ref("Account"))], access: .signedIn
        ), use: updateMe)
    }

    @Sendable func changePassword(_ req: Request) async throws -> HTTPStatus {
        let account = try req.requireAccount()
        let input = try req.content.decode(AccountService.PasswordChange.self)
        try await features.accounts.changePassword(account: account, keeping: req.authenticated?.session, input, ip: req.clientIP)
        return .noContent
    }

    @Sendable func resetPassword(_ req: Request) async throws -> HTTPStatus {
        let input = try req.content.decode(AccountService.PasswordReset.self)
        try await features.accounts.resetPassword(input, ip: req.clientIP)
        return .noContent
    }

    @Sendable func updateMe(_ req: Request) async throws -> AccountView {
        let account = try req.requireAccount()
        let patch = try req.content.decode(AccountService.ProfilePatch.self)
        return AccountView(try await features.accounts.updateProfile(account: account, patch, ip: req.clientIP))
    }
}
