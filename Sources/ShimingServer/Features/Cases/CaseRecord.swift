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

    static func context(_ id: UUID) -> String { "case.data.\(id.uuidString.lowercased())" }
    static func noteContext(_ id: UUID) -> String { "case.note.\(id.uuidString.lowercased())" }
    static func messageContext(_ id: UUID) -> String { "case.message.\(id.uuidString.lowercased())" }
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

struct CreateCases: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CaseRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("program", .string, .required)
            .field("state", .string, .required)
            .field("data_sealed", .string, .required)
            .field("number_index", .string)
            .field("scope_school", .string)
            .field("scope_grade", .string)
            .field("scope_class", .string)
            .field("identity_code", .string)
            .field("checks_json", .string)
            .field("decision_json", .string)
            .field("guardian_consent_at", .datetime)
            .field("confirmation_hash", .string)
            .field("confirmation_expires_at", .datetime)
            .field("confirmation_attempts", .int, .required)
            .field("submitted_at", .datetime)
            .field("verified_at", .datetime)
            .field("expires_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .field("version", .int, .required)
            .create()
        try await database.schema(CaseTransitionRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("account_id", .uuid, .required)
            .field("program", .string, .required)
            .field("action", .string, .required)
            .field("from_state", .string)
            .field("to_state", .string, .required)
            .field("actor_kind", .string, .required)
            .field("actor_id", .uuid)
            .field("rule", .string)
            .field("at", .datetime, .required)
            .field("seq", .int, .required)
            .create()
        try await database.schema(IdentityCodeRecord.schema)
            .field("code", .string, .identifier(auto: false))
            .field("number_index", .string, .required)
            .field("account_id", .uuid, .required)
            .field("issued_at", .datetime, .required)
            .unique(on: "number_index")
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX cases_account ON cases (account_id, created_at)",
            "CREATE INDEX cases_number ON cases (number_index, state)",
            "CREATE INDEX cases_state ON cases (state, confirmation_expires_at)",
            "CREATE INDEX case_transitions_case ON case_transitions (case_id, at)",
            "CREATE INDEX case_transitions_frequency ON case_transitions (account_id, program, action, at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(IdentityCodeRecord.schema).delete()
        try await database.schema(CaseTransitionRecord.schema).delete()
        try await database.schema(CaseRecord.schema).delete()
    }
}

/// The re-verification reminder: when the holder was told that the verification runs out soon.
struct AddCaseReminders: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CaseRecord.schema).field("reminded_at", .datetime).update()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX cases_expiry ON cases (state, expires_at)"])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX cases_expiry"])
        try await database.schema(CaseRecord.schema).deleteField("reminded_at").update()
    }
}

/// The history named the applicant for the machine's own steps (starting the checks and their
/// outcome); those rows now say "system", as new ones do.
struct AttributeMachineSteps: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await CaseTransitionRecord.query(on: database)
            .group(.or) { $0.filter(\.$action == CaseAction.startChecks.name)
                .filter(\.$action ~~ [CaseAction.CheckOutcome.approved, .needsReview, .returned].map { CaseAction.checked($0).name }) }
            .set(\.$actorKind, to: "system").set(\.$actorID, to: nil).update()
    }

    func revert(on database: any Database) async throws {}
}
