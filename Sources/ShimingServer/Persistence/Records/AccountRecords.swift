import Fluent
import Foundation

/// An account row. Contacts and names are personal data: stored sealed, with blind indexes
/// for the lookups sign-in and duplicate checks need. Stays inside the persistence layer.
final class AccountRecord: Model, @unchecked Sendable {
    static let schema = "accounts"

    @ID(key: .id) var id: UUID?
    /// Lower-cased login name, if any (not personal data by itself: users choose it).
    @OptionalField(key: "username") var username: String?
    @OptionalField(key: "phone_sealed") var phoneSealed: String?
    @OptionalField(key: "phone_index") var phoneIndex: String?
    @Field(key: "phone_confirmed") var phoneConfirmed: Bool
    @OptionalField(key: "email_sealed") var emailSealed: String?
    @OptionalField(key: "email_index") var emailIndex: String?
    @Field(key: "email_confirmed") var emailConfirmed: Bool
    /// P4: a student registers with the guardian's mobile number, which receives the codes.
    @OptionalField(key: "guardian_phone_sealed") var guardianPhoneSealed: String?
    @OptionalField(key: "guardian_phone_index") var guardianPhoneIndex: String?
    @Field(key: "guardian_phone_confirmed") var guardianPhoneConfirmed: Bool
    @Field(key: "password_hash") var passwordHash: String
    @Field(key: "status") var status: String
    @OptionalField(key: "status_reason") var statusReason: String?
    /// A reviewer taking round-robin assignments since then (`CreateBackOffice`), or nil.
    @OptionalField(key: "on_duty_since") var onDutySince: Date?
    /// `applicant` or `staff`.
    @Field(key: "kind") var kind: String
    /// Staff roles, comma-separated.
    @Field(key: "roles") var roles: String
    @OptionalField(key: "scope_school") var scopeSchool: String?
    @OptionalField(key: "scope_grade") var scopeGrade: String?
    @OptionalField(key: "scope_class") var scopeClass: String?
    @OptionalField(key: "legal_name_sealed") var legalNameSealed: String?
    @OptionalField(key: "gender") var gender: String?
    @OptionalField(key: "display_name") var displayName: String?
    @Field(key: "locale") var locale: String
    @OptionalField(key: "terms_version") var termsVersion: String?
    @OptionalField(key: "terms_accepted_at") var termsAcceptedAt: Date?
    /// The hash each consent kind was last accepted at, `kind=hash;…` (`ConsentStore.summarise`).
    @OptionalField(key: "consents") var consents: String?
    /// When the person's deletion request takes effect (signing in before cancels it).
    @OptionalField(key: "deletion_due_at") var deletionDueAt: Date?
    /// When the account's personal data was erased.
    @OptionalField(key: "erased_at") var erasedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}

/// A one-time code (or an e-mail activation token), stored only as a keyed hash.
final class OneTimeCodeRecord: Model, @unchecked Sendable {
    static let schema = "one_time_codes"

    @ID(key: .id) var id: UUID?
    @Field(key: "channel") var channel: String
    /// Blind index of the destination, so limits count per phone/e-mail without storing it.
    @Field(key: "destination_index") var destinationIndex: String
    @Field(key: "purpose") var purpose: String
    @Field(key: "code_hash") var codeHash: String
    @OptionalField(key: "account_id") var accountID: UUID?
    @Field(key: "expires_at") var expiresAt: Date
    @Field(key: "attempts") var attempts: Int
    @OptionalField(key: "consumed_at") var consumedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "ip") var ip: String?

    init() {}
}

/// A signed-in session: a web cookie or an API bearer token, stored as a hash.
final class SessionRecord: Model, @unchecked Sendable {
    static let schema = "sessions"

    @ID(key: .id) var id: UUID?
    @Field(key: "token_hash") var tokenHash: String
    @Field(key: "account_id") var accountID: UUID
    /// `web` (cookie, with a CSRF token) or `api` (bearer).
    @Field(key: "kind") var kind: String
    @OptionalField(key: "csrf_token") var csrfToken: String?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "expires_at") var expiresAt: Date
    @OptionalField(key: "revoked_at") var revokedAt: Date?
    @OptionalField(key: "ip") var ip: String?

    init() {}
}

/// Sign-in throttle state per key (`account:<id>` or `ip:<address>`), shared by all instances.
final class SignInThrottleRecord: Model, @unchecked Sendable {
    static let schema = "sign_in_throttles"

    @ID(custom: "key", generatedBy: .user) var id: String?
    @Field(key: "state") var state: String
    @OptionalField(key: "locked_until") var lockedUntil: Date?
    @Field(key: "updated_at") var updatedAt: Date

    init() {}
}
