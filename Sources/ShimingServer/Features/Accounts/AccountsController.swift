import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// The accounts and sessions API (API.md "Accounts and sessions").
struct AccountsController {
    let features: Features


    struct SessionBody: Content {
        var token: String
        var expiresAt: Date
        var account: AccountView
    }

    struct Accepted: Content {
        var accepted: Bool
    }

    static let accountSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "username": .nullable(.string()),
        "status": .string(allowed: AccountStatus.allCases.map(\.rawValue)),
        "kind": .string(allowed: ["applicant", "staff"]), "roles": .array(.string(allowed: StaffRole.allCases.map(\.rawValue))),
        "contacts": .array(.object([
            "channel": .string(allowed: ["sms", "email"]), "value": .string(description: "masked"),
            "confirmed": .boolean(), "role": .string(allowed: ["self", "guardian"]),
        ], required: ["channel", "value", "confirmed", "role"])),
        "displayName": .nullable(.string()), "legalName": .nullable(.string(description: "masked")),
        "gender": .nullable(.string(allowed: ["male", "female"])), "locale": .string(allowed: ["zh-CN", "en"]), "createdAt": .string(format: "date-time"),
        "frozenReason": .nullable(.string(description: "why the account is frozen; the holder may appeal")),
    ], required: ["id", "status", "kind", "roles", "contacts", "locale", "createdAt"])

    func register(_ routes: any RoutesBuilder) {
        let api = routes.grouped("api", "v1")
        api.on(.POST, "accounts", documentation: APIOperation(
            "register", summary: "Register an account; confirmation codes (and an e-mail activation link) are sent", tag: "accounts",
            requestBody: .object([
                "username": .string(), "phone": .string(), "email": .string(format: "email"), "password": .string(),
                "guardianPhone": .string(description: "P4: the guardian's mobile number, which receives the code"),
                "acceptTerms": .boolean(description: "the terms of use and the privacy policy, current versions (`GET /api/v1/consents`)"),
                "acceptSensitive": .boolean(description: "the separate consent to the processing of sensitive data (identity numbers, document photos); else asked before the first application"),
            ], required: ["password", "acceptTerms"]),
            responses: [201: .init("Registered, pending activation", schema: .ref("Account")), 409: .init("Username or contact taken")],
            components: ["Account": Self.accountSchema]
        ), use: registerAccount)
        api.on(.POST, "codes", documentation: APIOperation(
            "requestCode", summary: "Send a one-time code; always 202 (does not reveal who is registered)", tag: "accounts",
            requestBody: .object([
                "channel": .string(allowed: ["sms", "email"]), "destination": .string(),
                "purpose": .string(allowed: [CodePurpose.confirmContact.rawValue, CodePurpose.resetPassword.rawValue, CodePurpose.signIn.rawValue]),
            ], required: ["channel", "destination", "purpose"]),
            responses: [202: .init("Accepted", schema: .object(["accepted": .boolean()])), 429: .init("Too many requests; see Retry-After")]
        ), use: requestCode)
        api.on(.POST, "accounts", ":id", "contacts", "confirm", documentation: APIOperation(
            "confirmContact", summary: "Confirm a phone or e-mail with its code", tag: "accounts",
            requestBody: .object(["channel": .string(allowed: ["sms", "email"]), "code": .string()], required: ["channel", "code"]),
            responses: [200: .init("Confirmed", schema: .ref("Account"))]
        ), use: confirmContact)
        api.on(.GET, "accounts", "activate", documentation: APIOperation(
            "activate", summary: "Follow the e-mail activation link", tag: "accounts",
            query: ["token": .string()],
            responses: [200: .init("Activated", schema: .ref("Account")), 303: .init("Browsers are sent to the sign-in page")]
        ), use: activate)
        api.on(.POST, "sessions", documentation: APIOperation(
            "signIn", summary: "Sign in with a username, phone or e-mail and the password, or with a phone and the SMS code requested with purpose sign_in; returns a bearer token", tag: "sessions",
            requestBody: .object(["login": .string(), "password": .string(description: "either the password"),
                                  "code": .string(description: "or the sign-in code sent by SMS (POST /codes, purpose sign_in)")], required: ["login"]),
            responses: [
                201: .init("Signed in", schema: .object([
                    "token": .string(), "expiresAt": .string(format: "date-time"), "account": .ref("Account"),
                ], required: ["token", "expiresAt", "account"])),
                401: .init("Wrong login or password"), 429: .init("Sign-in locked after repeated failures; see Retry-After"),
            ]
        ), use: signIn)
        api.on(.DELETE, "sessions", "current", documentation: APIOperation(
            "signOut", summary: "End the current session", tag: "sessions",
            responses: [204: .init("Signed out")], access: .holder
        ), use: signOut)
        api.on(.GET, "me", documentation: APIOperation(
            "getMe", summary: "The signed-in account (a frozen one too, with the reason)", tag: "accounts",
            responses: [200: .init("The account", schema: .ref("Account"))], access: .holder
        ), use: me)
    }

    @Sendable func registerAccount(_ req: Request) async throws -> Response {
        let input = try req.content.decode(AccountService.Registration.self)
        let account = try await features.accounts.register(input, lang: req.lang, ip: req.clientIP, client: req.consentClient(.api))
        return try await AccountView(account).encodeResponse(status: .created, for: req)
    }

    @Sendable func requestCode(_ req: Request) async throws -> Response {
        let input = try req.content.decode(AccountService.CodeRequest.self)
        try await features.accounts.requestCode(input, ip: req.clientIP)
        return try await Accepted(accepted: true).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func confirmContact(_ req: Request) async throws -> AccountView {
        let id = try req.uuidParameter()
        let input = try req.content.decode(AccountService.Confirmation.self)
        return AccountView(try await features.accounts.confirm(accountID: id, input, ip: req.clientIP))
    }

    @Sendable func activate(_ req: Request) async throws -> Response {
        guard let token = req.query[String.self, at: "token"], !token.isEmpty else {
            throw AccountError.invalid(["token": "required"])
        }
        // People open this link from their mail: a browser gets pages, whatever happens.
        guard req.headers.first(name: .accept)?.contains("text/html") == true else {
            let account = try await features.accounts.activate(token: token, ip: req.clientIP)
            return try await AccountView(account).encodeResponse(for: req)
        }
        do {
            _ = try await features.accounts.activate(token: token, ip: req.clientIP)
            return req.redirect(to: "/signin?activated=1", redirectType: .normal)
        } catch let error as UserFacingError {
            let page = ErrorPage(status: error.kind.status, message: AccountText.activationLinkUsed(req.lang), lang: req.lang,
                                 path: "/signin", action: (AccountText.signInTitle, "/signin"),
                                 helpPhone: req.shiming.configuration.helpPhone)
            return WebController.html(page.render(), status: error.kind.status)
        }
    }

    @Sendable func signIn(_ req: Request) async throws -> Response {
        let credentials = try req.content.decode(AccountService.Credentials.self)
        let session = try await features.accounts.signIn(credentials, kind: "api", ip: req.clientIP)
        return try await SessionBody(token: session.token, expiresAt: session.expiresAt, account: AccountView(session.account))
            .encodeResponse(status: .created, for: req)
    }

    @Sendable func signOut(_ req: Request) async throws -> HTTPStatus {
        guard let authenticated = req.authenticated else { throw CommonErrors.unauthenticated }
        try await features.accounts.signOut(session: authenticated.session, account: authenticated.account, ip: req.clientIP)
        return .noContent
    }

    @Sendable func me(_ req: Request) async throws -> AccountView {
        AccountView(try req.requireAccount())
    }
}
