import Foundation
import ShimingCore
import Vapor

/// `/api/v1/admin/platforms` (admins register platforms, keys, secrets, see deliveries) and the
/// operations a platform calls with its key: hosted verification sessions and the verification
/// query.
struct PlatformsController {
    let features: Features
    typealias Views = PlatformViews

    func register(_ routes: any RoutesBuilder) {
        let admin = routes.grouped("api", "v1", "admin", "platforms")
        let administer = Access.staff(AccessPolicy.administer)
        admin.on(.POST, documentation: APIOperation(
            "registerPlatform", summary: "Register a relying platform; its first API key and webhook secret are in the answer, once", tag: "platforms",
            requestBody: .object(["name": .string(), "purpose": .string(description: "what the platform uses the claims for, shown on the consent screen"),
                                  "redirectUris": .array(.string(format: "uri")), "webhookUrl": .string(format: "uri"),
                                  "programs": .array(.string()), "claims": .array(.string(allowed: Views.claimNames))],
                                 required: ["name", "redirectUris", "programs", "claims"]),
            responses: [201: .init("Registered", schema: .ref("Platform"))], components: Views.components, access: administer
        ), use: create)
        admin.on(.GET, documentation: APIOperation(
            "listPlatforms", summary: "The registered platforms", tag: "platforms",
            responses: [200: .init("Platforms", schema: .array(.ref("Platform")))], components: Views.components, access: administer
        ), use: list)
        admin.on(.GET, ":id", documentation: APIOperation(
            "getPlatform", summary: "One platform with its keys and when each was last used", tag: "platforms",
            responses: [200: .init("The platform", schema: .ref("Platform"))], components: Views.components, access: administer
        ), use: detail)
        admin.on(.PATCH, ":id", documentation: APIOperation(
            "updatePlatform", summary: "Change a platform's name, purpose, return addresses, webhook URL (\"\" removes it), programs or claims", tag: "platforms",
            requestBody: .object(["name": .string(), "purpose": .string(), "redirectUris": .array(.string(format: "uri")),
                                  "webhookUrl": .string(), "programs": .array(.string()), "claims": .array(.string(allowed: Views.claimNames))]),
            responses: [200: .init("Changed", schema: .ref("Platform"))], components: Views.components, access: administer
        ), use: update)
        admin.on(.POST, ":id", "keys", documentation: APIOperation(
            "addPlatformKey", summary: "A further API key (rotation); earlier keys work until revoked; the key is in the answer, once", tag: "platforms",
            responses: [201: .init("The new key", schema: .ref("PlatformKey"))], components: Views.components, access: administer
        ), use: addKey)
        admin.on(.DELETE, ":id", "keys", ":key", documentation: APIOperation(
            "revokePlatformKey", summary: "Revoke a key: calls with it are refused (401) from now on", tag: "platforms",
            responses: [204: .init("Revoked")], access: administer
        ), use: revokeKey)
        admin.on(.POST, ":id", "webhook-secret", documentation: APIOperation(
            "rotateWebhookSecret", summary: "A new webhook secret, shown once; the old one also signs (a second v1) for 24 hours", tag: "platforms",
            responses: [201: .init("The new secret", schema: .object(["webhookSecret": .string()], required: ["webhookSecret"]))], access: administer
        ), use: rotateSecret)
        admin.on(.GET, ":id", "deliveries", documentation: APIOperation(
            "listWebhookDeliveries", summary: "The platform's webhook deliveries, newest first", tag: "platforms",
            responses: [200: .init("Deliveries", schema: .array(.ref("WebhookDelivery")))], components: Views.components,
            access: .staff(AccessPolicy.readOutbox)
        ), use: deliveries)
        admin.on(.POST, ":id", "deliveries", ":delivery", "redeliver", documentation: APIOperation(
            "redeliverWebhook", summary: "Send a delivery again now, with the same X-Shiming-Delivery", tag: "platforms",
            responses: [202: .init("Queued")], access: administer
        ), use: redeliver)

        let sessions = routes.grouped("api", "v1", "verification-sessions")
        sessions.on(.POST, documentation: APIOperation(
            "createVerificationSession", summary: "Send a user to Shiming: a hosted session URL (24 h, single use)", tag: "platform-api",
            requestBody: .object(["program": .string(), "reference": .string(description: "your own id for the user, ≤ 200 characters"),
                                  "returnUrl": .string(format: "uri", description: "one of the registered redirect URIs"),
                                  "locale": .string(allowed: Lang.allCases.map(\.rawValue))], required: ["program", "reference", "returnUrl"]),
            responses: [201: .init("Created", schema: .ref("VerificationSession")), 401: .init("Unknown or revoked key"),
                        429: .init("Too many calls with this key; see Retry-After")],
            components: Views.components, access: .platform
        ), use: createSession)
        sessions.on(.GET, ":id", documentation: APIOperation(
            "getVerificationSession", summary: "Where a session stands; once granted, the subject and the verification", tag: "platform-api",
            responses: [200: .init("The session", schema: .ref("VerificationSession"))], components: Views.components, access: .platform
        ), use: readSession)
        sessions.on(.POST, ":id", "cancel", documentation: APIOperation(
            "cancelVerificationSession", summary: "Cancel a session nobody finished; its URL then says so", tag: "platform-api",
            responses: [200: .init("Cancelled", schema: .ref("VerificationSession"))], components: Views.components, access: .platform
        ), use: cancelSession)
        routes.grouped("api", "v1", "verifications").on(.GET, ":subject", documentation: APIOperation(
            "getVerification", summary: "The verification of a subject, with exactly the granted claims; 404 without a grant in force", tag: "platform-api",
            responses: [200: .init("The verification", schema: .ref("Verification")), 404: .init("No grant in force for this subject")],
            components: Views.components, access: .platform
        ), use: query).countingPlatformCalls()
    }

    // MARK: Admin

    @Sendable func create(_ req: Request) async throws -> Response {
        let input = try req.content.decode(PlatformService.Registration.self)
        let registered = try await features.platforms.register(input, staff: try req.requireAccount(), ip: req.clientIP)
        var body = Views.PlatformBody(registered.platform, keys: [registered.key])
        body.apiKey = registered.apiKey
        body.webhookSecret = registered.webhookSecret
        return try await body.encodeResponse(status: .created, for: req)
    }

    @Sendable func list(_ req: Request) async throws -> [Views.PlatformBody] {
        try await features.platforms.list().map { Views.PlatformBody($0) }
    }

    @Sendable func detail(_ req: Request) async throws -> Views.PlatformBody {
        let platform = try await features.platforms.find(try req.uuidParameter())
        return Views.PlatformBody(platform, keys: try await features.platforms.keys(of: platform.id))
    }

    @Sendable func update(_ req: Request) async throws -> Views.PlatformBody {
        let change = try req.content.decode(PlatformService.Change.self)
        let platform = try await features.platforms.update(try req.uuidParameter(), change, staff: try req.requireAccount(), ip: req.clientIP)
        return Views.PlatformBody(platform, keys: try await features.platforms.keys(of: platform.id))
    }

    @Sendable func addKey(_ req: Request) async throws -> Response {
        let (key, apiKey) = try await features.platforms.addKey(to: try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP)
        return try await Views.KeyBody(key, apiKey: apiKey).encodeResponse(status: .created, for: req)
    }

    @Sendable func revokeKey(_ req: Request) async throws -> HTTPStatus {
        try await features.platforms.revokeKey(try req.uuidParameter("key"), of: try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP)
        return .noContent
    }

    @Sendable func rotateSecret(_ req: Request) async throws -> Response {
        let secret = try await features.platforms.rotateSecret(of: try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP)
        return try await Views.SecretBody(webhookSecret: secret).encodeResponse(status: .created, for: req)
    }

    @Sendable func deliveries(_ req: Request) async throws -> [Views.DeliveryBody] {
        let platform = try await features.platforms.find(try req.uuidParameter())
        return try await features.platforms.deliveries(of: platform.id).map(Views.DeliveryBody.init)
    }

    @Sendable func redeliver(_ req: Request) async throws -> HTTPStatus {
        try await features.platforms.redeliver(try req.uuidParameter("delivery"), of: try req.uuidParameter(), staff: try req.requireAccount(),
                                               ip: req.clientIP)
        return .accepted
    }

    // MARK: Platform API

    @Sendable func createSession(_ req: Request) async throws -> Response {
        let caller = try req.requirePlatform()
        let input = try req.content.decode(VerificationSessionService.Start.self)
        let session = try await features.sessions.start(input, platform: caller.platform, key: caller.key, ip: req.clientIP)
        let body = Views.SessionBody(.init(session: session, status: session.status), url: features.sessions.url(session.id))
        return try await body.encodeResponse(status: .created, for: req)
    }

    @Sendable func readSession(_ req: Request) async throws -> Views.SessionBody {
        let caller = try req.requirePlatform()
        let reading = try await features.sessions.read(try req.uuidParameter(), platform: caller.platform, key: caller.key, ip: req.clientIP)
        return Views.SessionBody(reading, url: features.sessions.url(reading.session.id))
    }

    @Sendable func cancelSession(_ req: Request) async throws -> Views.SessionBody {
        let caller = try req.requirePlatform()
        let reading = try await features.sessions.cancel(try req.uuidParameter(), platform: caller.platform, key: caller.key, ip: req.clientIP)
        return Views.SessionBody(reading, url: features.sessions.url(reading.session.id))
    }

    @Sendable func query(_ req: Request) async throws -> Views.VerificationBody {
        let caller = try req.requirePlatform()
        req.platformCallCountedByOperation = true
        let subject = req.parameter("subject") ?? ""
        return Views.VerificationBody(try await features.grants.query(subject: subject, platform: caller.platform, key: caller.key, ip: req.clientIP))
    }
}

/// `/api/v1/me/grants`: the platforms the caller has authorised, granting and withdrawing.
struct GrantsController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        let grants = routes.grouped("api", "v1", "me", "grants")
        grants.on(.GET, documentation: APIOperation(
            "listMyGrants", summary: "The platforms the caller authorised (withdrawn ones too), with how often each asked per day", tag: "accounts",
            responses: [200: .init("Grants", schema: .array(.ref("Grant")))], components: PlatformViews.components, access: .holder
        ), use: list)
        grants.on(.POST, documentation: APIOperation(
            "grantPlatform", summary: "Authorise a platform to ask about the caller, for claims it registered; with `session`, completes that session", tag: "accounts",
            requestBody: .object(["platform": .string(format: "uuid"), "claims": .array(.string(allowed: PlatformViews.claimNames)),
                                  "session": .string(format: "uuid")], required: ["platform", "claims"]),
            responses: [201: .init("Granted", schema: .ref("Grant")), 409: .init("No verification the platform accepts")],
            components: PlatformViews.components, access: .signedIn
        ), use: create)
        grants.on(.DELETE, ":id", documentation: APIOperation(
            "withdrawGrant", summary: "Withdraw a grant: the platform is told (grant.revoked) and its queries answer 404", tag: "accounts",
            responses: [204: .init("Withdrawn")], access: .holder
        ), use: withdraw)
    }

    @Sendable func list(_ req: Request) async throws -> [PlatformViews.GrantBody] {
        let now = req.application.shiming.services.clock.now()
        return try await features.grants.list(account: try req.requireAccount()).map { PlatformViews.GrantBody($0, at: now) }
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        let input = try req.content.decode(GrantService.Input.self)
        let grant = try await features.grants.create(account: account, input, ip: req.clientIP)
        // A grant just made has no queries yet: its platform is all the answer still needs.
        let listed = GrantService.Listed(grant: grant, platform: try await features.platforms.find(grant.platformID), queries: [])
        return try await PlatformViews.GrantBody(listed, at: req.application.shiming.services.clock.now()).encodeResponse(status: .created, for: req)
    }

    @Sendable func withdraw(_ req: Request) async throws -> HTTPStatus {
        try await features.grants.withdraw(try req.uuidParameter(), account: try req.requireAccount(), ip: req.clientIP)
        return .noContent
    }
}
