import Foundation
import ShimingCore
import Vapor

/// Consents in the API: the current texts (public), and the caller's standing, acceptances and
/// withdrawal (`/api/v1/me/consents`).
struct ConsentsController {
    let features: Features

    static let kinds = ConsentKind.allCases.map(\.rawValue)
    static let components: [String: JSONSchema] = [
        "ConsentText": .object([
            "kind": .string(allowed: kinds), "version": .string(), "hash": .string(description: "SHA-256 of the kind, version and both texts"),
            "title": .string(), "url": .string(description: "the page showing the text"),
        ], required: ["kind", "version", "hash", "title", "url"]),
        "ConsentStanding": .object([
            "kind": .string(allowed: kinds), "version": .string(description: "the current version"), "hash": .string(), "title": .string(), "url": .string(),
            "state": .string(allowed: ConsentService.Status.State.allCases.map(\.rawValue)),
            "acceptedVersion": .string(), "acceptedAt": .string(format: "date-time"), "givenBy": .string(allowed: ["self", "guardian"]),
        ], required: ["kind", "version", "hash", "title", "url", "state"]),
        "ConsentRecord": .object([
            "id": .string(format: "uuid"), "kind": .string(allowed: kinds), "version": .string(), "hash": .string(),
            "givenBy": .string(allowed: ["self", "guardian"]), "channel": .string(allowed: ["web", "api"]),
            "case": .string(format: "uuid", description: "the application a guardian consented for"),
            "acceptedAt": .string(format: "date-time"), "withdrawnAt": .string(format: "date-time"),
        ], required: ["id", "kind", "version", "hash", "givenBy", "channel", "acceptedAt"]),
        "MyConsents": .object([
            "consents": .array(.ref("ConsentStanding")),
            "pending": .array(.string(allowed: kinds, description: "a text to accept (again) before acting")),
            "history": .array(.ref("ConsentRecord")),
            "stoppedApplications": .integer(description: "after a withdrawal: the applications it stopped"),
        ], required: ["consents", "pending", "history"]),
    ]

    func register(_ routes: any RoutesBuilder) {
        let api = routes.grouped("api", "v1")
        api.on(.GET, "consents", documentation: APIOperation(
            "listConsentTexts", summary: "The current consent texts (terms, privacy policy, sensitive-data consent) with their versions", tag: "accounts",
            responses: [200: .init("Texts", schema: .array(.ref("ConsentText")))], components: Self.components, access: .everyone
        ), use: texts)
        let me = api.grouped("me", "consents")
        me.on(.GET, documentation: APIOperation(
            "getMyConsents", summary: "Where the caller stands with each consent text, what to accept again, and every acceptance given", tag: "accounts",
            responses: [200: .init("Consents", schema: .ref("MyConsents"))], components: Self.components, access: .holder
        ), use: mine)
        me.on(.POST, documentation: APIOperation(
            "acceptConsents", summary: "Accept the current version of consent texts (a version that is no longer current answers 409 consent_outdated)", tag: "accounts",
            requestBody: .object(["accept": .array(.object(["kind": .string(allowed: Self.kinds), "version": .string(minLength: 1),
                                                                      "hash": .string(description: "the text's hash as shown (GET /api/v1/consents): refused as outdated when the words changed since")],
                                                                     required: ["kind", "version"])),
                                  "guardianCode": .string(description: "for a pupil registered with the guardian's phone: the code the guardian received (POST /api/v1/me/consents/guardian/code)")],
                                 required: ["accept"]),
            responses: [200: .init("Consents", schema: .ref("MyConsents")), 409: .init("The text changed")], components: Self.components, access: .holder
        ), use: accept)
        me.on(.POST, "guardian", "code", documentation: APIOperation(
            "sendGuardianConsentCode", summary: "For a pupil registered with the guardian's phone: send the guardian a code that confirms their consent (PIPL art. 31)", tag: "accounts",
            responses: [202: .init("Sent", schema: .object(["sentTo": .string(description: "the guardian's phone, masked")], required: ["sentTo"])),
                        409: .init("guardian_not_needed"), 429: .init("Too many codes")],
            access: .holder
        ), use: guardianCode)
        me.on(.DELETE, ":kind", documentation: APIOperation(
            "withdrawConsent", summary: "Withdraw the sensitive-data consent: unfinished applications stop (state withdrawn), new ones wait for a new consent", tag: "accounts",
            responses: [200: .init("Consents", schema: .ref("MyConsents")), 409: .init("The terms and privacy policy cannot be withdrawn on their own")],
            components: Self.components, access: .holder
        ), use: withdraw)
    }

    struct TextBody: Content {
        var kind: String, version: String, hash: String, title: String, url: String

        init(_ text: ConsentText, publicURL: String, lang: Lang) {
            (kind, version, hash, title, url) = (text.kind.rawValue, text.version, text.hash, text.title(lang), publicURL + text.kind.path)
        }
    }

    struct StandingBody: Content {
        var kind: String, version: String, hash: String, title: String, url: String, state: String
        var acceptedVersion: String?, acceptedAt: Date?, givenBy: String?
    }

    struct RecordBody: Content {
        var id: UUID, kind: String, version: String, hash: String, givenBy: String, channel: String
        var `case`: UUID?, acceptedAt: Date, withdrawnAt: Date?
    }

    struct MineBody: Content {
        var consents: [StandingBody]
        var pending: [String]
        var history: [RecordBody]
        var stoppedApplications: Int?
    }

    @Sendable func texts(_ req: Request) async throws -> [TextBody] {
        ConsentKind.allCases.map { TextBody(req.shiming.consents.text($0), publicURL: req.shiming.configuration.publicURL, lang: req.lang) }
    }

    func body(_ req: Request, account: Account, stopped: Int? = nil) async throws -> MineBody {
        let (statuses, history) = try await features.consents.overview(account)
        let publicURL = req.shiming.configuration.publicURL
        return MineBody(
            consents: statuses.map { status in
                let text = TextBody(status.text, publicURL: publicURL, lang: req.lang)
                let latest = status.state == .missing ? nil : status.latest
                return StandingBody(kind: text.kind, version: text.version, hash: text.hash, title: text.title, url: text.url, state: status.state.rawValue,
                                    acceptedVersion: latest?.version, acceptedAt: latest?.acceptedAt, givenBy: latest?.givenBy.rawValue)
            },
            pending: req.shiming.consents.pending(account).map(\.rawValue),
            history: history.map {
                RecordBody(id: $0.id, kind: $0.kind.rawValue, version: $0.version, hash: $0.textHash, givenBy: $0.givenBy.rawValue,
                           channel: $0.channel.rawValue, case: $0.caseID, acceptedAt: $0.acceptedAt, withdrawnAt: $0.withdrawnAt)
            },
            stoppedApplications: stopped
        )
    }

    /// The caller re-read, so the answer shows what was just recorded.
    func reread(_ req: Request) async throws -> Account {
        let account = try req.requireAccount()
        return try await features.accounts.account(account.id) ?? account
    }

    @Sendable func mine(_ req: Request) async throws -> MineBody {
        try await body(req, account: try req.requireAccount())
    }

    struct AcceptInput: Content {
        struct Item: Content { var kind: String?, version: String?, hash: String? }
        var accept: [Item]?
        var guardianCode: String?
    }

    @Sendable func accept(_ req: Request) async throws -> MineBody {
        let input = try req.content.decode(AcceptInput.self)
        var versions: [ConsentKind: String] = [:]
        var hashes: [ConsentKind: String] = [:]
        var fields: [String: String] = [:]
        guard let items = input.accept else { throw AccountError.invalid(["accept": "required"]) }
        for (offset, item) in items.enumerated() {
            guard let kind = item.kind.flatMap(ConsentKind.init(rawValue:)) else { fields["accept[\(offset)].kind"] = "invalid_value"; continue }
            guard let version = item.version, !version.isEmpty else { fields["accept[\(offset)].version"] = "required"; continue }
            versions[kind] = version
            hashes[kind] = item.hash
        }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        try await features.consents.accept(versions, hashes: hashes, account: try req.requireAccount(), client: req.consentClient(.api),
                                           guardianCode: input.guardianCode)
        return try await body(req, account: try await reread(req))
    }

    struct SentBody: Content { var sentTo: String }

    @Sendable func guardianCode(_ req: Request) async throws -> Response {
        let sentTo = try await features.consents.sendGuardianCode(account: try req.requireAccount(), ip: req.clientIP)
        return try await SentBody(sentTo: sentTo).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func withdraw(_ req: Request) async throws -> MineBody {
        guard let kind = req.parameter("kind").flatMap(ConsentKind.init(rawValue:)) else { throw CommonErrors.notFound }
        let stopped = try await features.consents.withdraw(kind, account: try req.requireAccount(), client: req.consentClient(.api), cases: features.cases)
        return try await body(req, account: try await reread(req), stopped: stopped)
    }
}
