import Fluent
import Foundation

struct CreateAccounts: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AccountRecord.schema)
            .id()
            .field("username", .string)
            .field("phone_sealed", .string)
            .field("phone_index", .string)
            .field("phone_confirmed", .bool, .required)
            .field("email_sealed", .string)
            .field("email_index", .string)
            .field("email_confirmed", .bool, .required)
            .field("guardian_phone_sealed", .string)
            .field("guardian_phone_index", .string)
            .field("guardian_phone_confirmed", .bool, .required)
            .field("password_hash", .string, .required)
            .field("status", .string, .required)
            .field("status_reason", .string)
            .field("kind", .string, .required)
            .field("roles", .string, .required)
            .field("scope_school", .string)
            .field("scope_grade", .string)
            .field("scope_class", .string)
            .field("legal_name_sealed", .string)
            .field("gender", .string)
            .field("display_name", .string)
            .field("locale", .string, .required)
            .field("terms_version", .string)
            .field("terms_accepted_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .unique(on: "username")
            .unique(on: "phone_index")
            .unique(on: "email_index")
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX accounts_guardian_phone ON accounts (guardian_phone_index)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AccountRecord.schema).delete()
    }
}
