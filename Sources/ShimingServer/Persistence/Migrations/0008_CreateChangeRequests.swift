import Fluent
import Foundation
import IdentityRules
import ShimingCore

struct CreateChangeRequests: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ChangeRequestRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("field", .string, .required)
            .field("new_value_sealed", .string, .required)
            .field("old_value_sealed", .string)
            .field("reason_sealed", .string, .required)
            .field("state", .string, .required)
            .field("decided_by", .uuid)
            .field("decided_at", .datetime)
            .field("decision_note_sealed", .string)
            .field("created_at", .datetime, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX change_requests_account ON change_requests (account_id, created_at)",
            "CREATE INDEX change_requests_state ON change_requests (state, created_at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ChangeRequestRecord.schema).delete()
    }
}
