import Fluent
import Foundation
import ShimingCore

/// A case row. Everything the applicant stated is one sealed JSON value (`data_sealed`); the
/// clear columns are what queries need and hold no identity data: the program, the state, the
/// document type, the HMAC blind index of the normalised number (duplicate lookups), and the
/// school/grade/class that route a case to its teacher (P4).
final class CaseRecord: Model, @unchecked Sendable {
    static let schema = "cases"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "program") var program: String
    @Field(key: "state") var state: String
    @Field(key: "data_sealed") var dataSealed: String
    @OptionalField(key: "number_index") var numberIndex: String?
    @OptionalField(key: "scope_school") var scopeSchool: String?
    @OptionalField(key: "scope_grade") var scopeGrade: String?
    @OptionalField(key: "scope_class") var scopeClass: String?
    @OptionalField(key: "identity_code") var identityCode: String?
    /// The last automatic check results (codes only, no personal data), JSON.
    @OptionalField(key: "checks_json") var checksJSON: String?
    /// The last decision (automatic or by a person), JSON; a staff note inside is sealed.
    @OptionalField(key: "decision_json") var decisionJSON: String?
    @OptionalField(key: "guardian_consent_at") var guardianConsentAt: Date?
    @OptionalField(key: "confirmation_hash") var confirmationHash: String?
    @OptionalField(key: "confirmation_expires_at") var confirmationExpiresAt: Date?
    @Field(key: "confirmation_attempts") var confirmationAttempts: Int
    @OptionalField(key: "submitted_at") var submittedAt: Date?
    @OptionalField(key: "verified_at") var verifiedAt: Date?
    @OptionalField(key: "expires_at") var expiresAt: Date?
    /// When the holder was reminded that the verification runs out (`AddCaseReminders`).
    @OptionalField(key: "reminded_at") var remindedAt: Date?
    @Field(key: "created_at") var createdAt: Date
    @Field(key: "updated_at") var updatedAt: Date
    /// Bumped on every change; writers compare it so that two concurrent changes cannot both win.
    @Field(key: "version") var version: Int

    init() {}

}

/// One step of a case's history: every state change, with who caused it and which rule decided.
final class CaseTransitionRecord: Model, @unchecked Sendable {
    static let schema = "case_transitions"

    @ID(key: .id) var id: UUID?
    @Field(key: "case_id") var caseID: UUID
    /// The applicant's account (so that submissions can be counted per account and program).
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "program") var program: String
    @Field(key: "action") var action: String
    @OptionalField(key: "from_state") var fromState: String?
    @Field(key: "to_state") var toState: String
    /// `applicant`, `staff` or `system`.
    @Field(key: "actor_kind") var actorKind: String
    @OptionalField(key: "actor_id") var actorID: UUID?
    @OptionalField(key: "rule") var rule: String?
    @Field(key: "at") var at: Date
    /// Orders transitions written in the same instant.
    @Field(key: "seq") var seq: Int

    init() {}
}

/// The identity code of a person (P1): one per blind-indexed identity number, kept across
/// re-verifications.
final class IdentityCodeRecord: Model, @unchecked Sendable {
    static let schema = "identity_codes"

    @ID(custom: "code", generatedBy: .user) var id: String?
    @Field(key: "number_index") var numberIndex: String
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "issued_at") var issuedAt: Date

    init() {}
}
