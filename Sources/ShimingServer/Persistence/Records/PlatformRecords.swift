import Fluent
import Foundation

/// A relying platform. Lists are stored as JSON text; the webhook secret is sealed (it is needed
/// in the clear to sign), and during a rotation the previous one signs too until it runs out.
final class PlatformRecord: Model, @unchecked Sendable {
    static let schema = "platforms"

    @ID(key: .id) var id: UUID?
    @Field(key: "name") var name: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "redirect_uris") var redirectURIs: String
    @OptionalField(key: "webhook_url") var webhookURL: String?
    @Field(key: "programs") var programs: String
    @Field(key: "claims") var claims: String
    @Field(key: "webhook_secret_sealed") var webhookSecretSealed: String
    @OptionalField(key: "previous_secret_sealed") var previousSecretSealed: String?
    @OptionalField(key: "previous_secret_until") var previousSecretUntil: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}

    static func secretContext(_ id: UUID) -> String { "platform.webhook_secret.\(id.lowercasedText)" }
}

/// An API key of a platform, stored as a keyed hash with a short prefix to tell keys apart.
final class PlatformKeyRecord: Model, @unchecked Sendable {
    static let schema = "platform_keys"

    @ID(key: .id) var id: UUID?
    @Field(key: "platform_id") var platformID: UUID
    @Field(key: "key_hash") var keyHash: String
    @Field(key: "prefix") var prefix: String
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "last_used_at") var lastUsedAt: Date?
    @OptionalField(key: "revoked_at") var revokedAt: Date?

    init() {}
}

/// A hosted verification session: the platform's reference for its user (sealed), where the
/// browser returns, and — once someone opened it — whose it is.
final class VerificationSessionRecord: Model, @unchecked Sendable {
    static let schema = "verification_sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "platform_id") var platformID: UUID
    @Field(key: "program") var program: String
    @Field(key: "reference_sealed") var referenceSealed: String
    @Field(key: "return_url") var returnURL: String
    @OptionalField(key: "locale") var locale: String?
    @Field(key: "status") var status: String
    @OptionalField(key: "account_id") var accountID: UUID?
    @OptionalField(key: "grant_id") var grantID: UUID?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "completed_at") var completedAt: Date?

    init() {}

    static func referenceContext(_ id: UUID) -> String { "verification_session.reference.\(id.lowercasedText)" }
}

/// A person's consent for one platform: the claims, until when, and the pairwise subject the
/// platform knows them by.
final class GrantRecord: Model, @unchecked Sendable {
    static let schema = "grants"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "platform_id") var platformID: UUID
    @Field(key: "subject") var subject: String
    @Field(key: "claims") var claims: String
    @OptionalField(key: "session_id") var sessionID: UUID?
    @Field(key: "granted_at") var grantedAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @OptionalField(key: "revoked_by") var revokedBy: String?
    @OptionalField(key: "last_queried_at") var lastQueriedAt: Date?

    init() {}
}
