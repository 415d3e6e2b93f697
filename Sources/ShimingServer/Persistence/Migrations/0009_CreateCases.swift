import Fluent
import Foundation
import ShimingCore

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
