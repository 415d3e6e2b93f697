import Foundation
import ShimingCore
import Vapor

/// The JSON shapes of the platform operations, and their schemas for `/openapi.json`.
enum PlatformViews {
    struct PlatformBody: Content {
        var id: UUID
        var name: String
        var purpose: String
        var redirectUris: [String]
        var webhookUrl: String?
        var programs: [String]
        var claims: [String]
        var keys: [KeyBody]?
        var createdAt: Date
        var updatedAt: Date
        /// Shown once, when the platform is registered.
        var apiKey: String?
        var webhookSecret: String?

        init(_ platform: Platform, keys: [PlatformKey]? = nil) {
            id = platform.id
            name = platform.name
            purpose = platform.purpose
            redirectUris = platform.redirectURIs
            webhookUrl = platform.webhookURL
            programs = platform.programs
            claims = platform.claims.map(\.rawValue)
            self.keys = keys?.map { KeyBody($0) }
            createdAt = platform.createdAt
            updatedAt = platform.updatedAt
        }
    }

    struct KeyBody: Content {
        var id: UUID
        var prefix: String
        var createdAt: Date
        var lastUsedAt: Date?
        var revokedAt: Date?
        /// Shown once, when the key is made.
        var apiKey: String?

        init(_ key: PlatformKey, apiKey: String? = nil) {
            id = key.id
            prefix = key.prefix
            createdAt = key.createdAt
            lastUsedAt = key.lastUsedAt
            revokedAt = key.revokedAt
            self.apiKey = apiKey
        }
    }

    struct SecretBody: Content {
        var webhookSecret: String
    }

    struct DeliveryBody: Content {
        var id: UUID
        var event: String
        var status: String
        var attempts: Int
        var lastError: String?
        var createdAt: Date
        var nextAttemptAt: Date
        var sentAt: Date?

        init(_ entry: OutboxEntry) {
            id = entry.id
            event = entry.template
            status = entry.status.rawValue
            attempts = entry.attempts
            lastError = entry.lastError
            createdAt = entry.createdAt
            nextAttemptAt = entry.nextAttemptAt
            sentAt = entry.sentAt
        }
    }

    struct VerificationBody: Content {
        var verified: Bool
        var program: String?
        var level: String?
        var verifiedAt: Date?
        var expiresAt: Date?
        var claims: [String: ClaimValue]

        init(_ answer: VerificationAnswer) {
            verified = answer.verified
            program = answer.program
            level = answer.level
            verifiedAt = answer.verifiedAt
            expiresAt = answer.expiresAt
            claims = answer.claims
        }

        /// Written directly (`json()`), without looking the encoder up in Vapor's content
        /// configuration (a dictionary of media types behind a lock, hashed on every answer): the
        /// same bytes and headers, on the path every platform takes before each sensitive action.
        func encodeResponse(for request: Request) async throws -> Response {
            try JSONCoding.response(self) { try $0.json() }
        }

        /// The bytes `SortedJSON` writes for the answer (`JSONWriter`; tested against it).
        func json() throws -> [UInt8] {
            var out = JSONWriter(capacity: 256)
            try out.object { out in
                out.key("claims")
                out.object { out in
                    for (name, value) in claims.sorted(by: { $0.key < $1.key }) {
                        out.key(name)
                        switch value {
                        case .bool(let flag): out.bool(flag)
                        case .string(let text): out.string(text)
                        case .object(let members):
                            out.object { out in
                                for (key, text) in members.sorted(by: { $0.key < $1.key }) {
                                    out.key(key)
                                    out.string(text)
                                }
                            }
                        }
                    }
                }
                try out.member("expiresAt", expiresAt)
                out.member("level", level)
                out.member("program", program)
                out.member("verified", verified)
                try out.member("verifiedAt", verifiedAt)
            }
            return out.bytes
        }
    }

    struct SessionBody: Content {
        var id: UUID
        var url: String
        var status: String
        var program: String
        var reference: String
        var returnUrl: String
        var createdAt: Date
        var expiresAt: Date
        var completedAt: Date?
        var subject: String?
        var verification: VerificationBody?

        init(_ reading: VerificationSessionService.Reading, url: String) {
            let session = reading.session
            id = session.id
            self.url = url
            status = reading.status.rawValue
            program = session.program
            reference = session.reference
            returnUrl = session.returnURL
            createdAt = session.createdAt
            expiresAt = session.expiresAt
            completedAt = session.completedAt
            subject = reading.subject
            verification = reading.verification.map(VerificationBody.init)
        }
    }

    struct GrantBody: Content {
        struct PlatformRef: Content {
            var id: UUID
            var name: String
        }
        struct QueryDay: Content {
            var day: String
            var count: Int
        }
        var id: UUID
        var platform: PlatformRef
        var purpose: String
        var claims: [String]
        var state: String
        var grantedAt: Date
        var expiresAt: Date
        var revokedAt: Date?
        var lastQueriedAt: Date?
        var queries: [QueryDay]

        init(_ listed: GrantService.Listed, at now: Date) {
            let grant = listed.grant
            id = grant.id
            platform = PlatformRef(id: grant.platformID, name: listed.platform?.name ?? "—")
            purpose = listed.platform?.purpose ?? ""
            claims = grant.claims.map(\.rawValue)
            state = grant.revokedBy == "replaced" ? "replaced" : grant.revokedAt != nil ? "withdrawn" : grant.inForce(at: now) ? "active" : "expired"
            grantedAt = grant.grantedAt
            expiresAt = grant.expiresAt
            revokedAt = grant.revokedAt
            lastQueriedAt = grant.lastQueriedAt
            queries = listed.queries.map { QueryDay(day: $0.day, count: $0.count) }
        }
    }

    // MARK: Schemas

    static let claimNames = PlatformClaim.allCases.map(\.rawValue)
    static let time = JSONSchema.string(format: "date-time")

    static let key: JSONSchema = .object([
        "id": .string(format: "uuid"), "prefix": .string(), "createdAt": time, "lastUsedAt": .nullable(time), "revokedAt": .nullable(time),
        "apiKey": .nullable(.string(description: "sk_live_…, shown once")),
    ], required: ["id", "prefix", "createdAt"])

    static let platform: JSONSchema = .object([
        "id": .string(format: "uuid"), "name": .string(), "purpose": .string(), "redirectUris": .array(.string(format: "uri")),
        "webhookUrl": .nullable(.string(format: "uri")), "programs": .array(.string()), "claims": .array(.string(allowed: claimNames)),
        "keys": .nullable(.array(.ref("PlatformKey"))), "createdAt": time, "updatedAt": time,
        "apiKey": .nullable(.string(description: "shown once, at registration")),
        "webhookSecret": .nullable(.string(description: "shown once, at registration")),
    ], required: ["id", "name", "purpose", "redirectUris", "programs", "claims", "createdAt", "updatedAt"])

    static let delivery: JSONSchema = .object([
        "id": .string(format: "uuid", description: "X-Shiming-Delivery"), "event": .string(allowed: [
            PlatformEvents.sessionCompleted, PlatformEvents.verificationUpdated, PlatformEvents.grantRevoked]),
        "status": .string(allowed: ["pending", "sending", "sent", "failed"]), "attempts": .integer(), "lastError": .nullable(.string()),
        "createdAt": time, "nextAttemptAt": time, "sentAt": .nullable(time),
    ], required: ["id", "event", "status", "attempts", "createdAt", "nextAttemptAt"])

    static let verification: JSONSchema = .object([
        "verified": .boolean(), "program": .nullable(.string()), "level": .nullable(.string(allowed: ["registry", "reviewed", "document"])),
        "verifiedAt": .nullable(time), "expiresAt": .nullable(time),
        "claims": .object([
            "verified": .boolean(), "program": .string(), "expiresAt": time, "ageOver14": .boolean(), "ageOver18": .boolean(),
            "ageOver60": .boolean(), "maskedName": .string(), "name": .string(), "identityCode": .string(),
            "school": .object(["school": .string(), "grade": .string(), "class": .string()], required: ["school", "grade", "class"]),
            "organisation": .object(["name": .string(), "creditCode": .string()], required: ["name", "creditCode"]),
        ]),
    ], required: ["verified", "claims"])

    static let session: JSONSchema = .object([
        "id": .string(format: "uuid"), "url": .string(format: "uri"),
        "status": .string(allowed: VerificationSessionStatus.allCases.map(\.rawValue)), "program": .string(),
        "reference": .string(), "returnUrl": .string(format: "uri"), "createdAt": time, "expiresAt": time, "completedAt": .nullable(time),
        "subject": .nullable(.string(description: "the pairwise subject, once the person granted")),
        "verification": .nullable(.ref("Verification")),
    ], required: ["id", "url", "status", "program", "reference", "returnUrl", "createdAt", "expiresAt"])

    static let grant: JSONSchema = .object([
        "id": .string(format: "uuid"), "platform": .object(["id": .string(format: "uuid"), "name": .string()], required: ["id", "name"]),
        "purpose": .string(), "claims": .array(.string(allowed: claimNames)),
        "state": .string(allowed: ["active", "withdrawn", "expired", "replaced"]), "grantedAt": time, "expiresAt": time,
        "revokedAt": .nullable(time), "lastQueriedAt": .nullable(time),
        "queries": .array(.object(["day": .string(format: "date"), "count": .integer()], required: ["day", "count"])),
    ], required: ["id", "platform", "purpose", "claims", "state", "grantedAt", "expiresAt", "queries"])

    static let components: [String: JSONSchema] = [
        "Platform": platform, "PlatformKey": key, "WebhookDelivery": delivery, "Verification": verification,
        "VerificationSession": session, "Grant": grant,
    ]
}
