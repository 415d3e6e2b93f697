import Fluent
import Foundation

struct CreateSessions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(SessionRecord.schema)
            .id()
            .field("token_hash", .string, .required)
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("kind", .string, .required)
            .field("csrf_token", .string)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("ip", .string)
            .unique(on: "token_hash")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(SessionRecord.schema).delete()
    }
}
