import Fluent
import Foundation

/// One acceptance of a consent text. The client (address and browser) is sealed: it is
/// personal data kept as evidence of the consent.
final class ConsentAcceptanceRecord: Model, @unchecked Sendable {
    static let schema = "consent_acceptances"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "kind") var kind: String
    @Field(key: "version") var version: String
    @Field(key: "text_hash") var textHash: String
    /// `self`, or `guardian` when a minor's guardian gave it.
    @Field(key: "given_by") var givenBy: String
    /// `web` or `api`.
    @Field(key: "channel") var channel: String
    @OptionalField(key: "client_sealed") var clientSealed: String?
    /// The application a guardian consented for, if it was given for one.
    @OptionalField(key: "case_id") var caseID: UUID?
    @Field(key: "accepted_at") var acceptedAt: Date
    @OptionalField(key: "withdrawn_at") var withdrawnAt: Date?

    init() {}

    static func clientContext(_ id: UUID) -> String { "consent.client.\(id.lowercasedText)" }
}
