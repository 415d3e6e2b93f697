import Fluent
import Foundation
import ShimingCore

/// Relying platforms: their keys and per-key rate windows, hosted verification sessions, the
/// subjects' grants with their per-day query counts, and the platform an outbox webhook is for.
struct CreatePlatforms: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(PlatformRecord.schema)
            .id()
            .field("name", .string, .required)
            .field("purpose", .string, .required)
            .field("redirect_uris", .string, .required)
            .field("webhook_url", .string)
            .field("programs", .string, .required)
            .field("claims", .string, .required)
            .field("webhook_secret_sealed", .string, .required)
            .field("previous_secret_sealed", .string)
            .field("previous_secret_until", .datetime)
            .field("created_at", .datetime, .required)
            .field("updated_at", .datetime, .required)
            .create()
        try await database.schema(PlatformKeyRecord.schema)
            .id()
            .field("platform_id", .uuid, .required, .references(PlatformRecord.schema, "id"))
            .field("key_hash", .string, .required)
            .field("prefix", .string, .required)
            .field("created_at", .datetime, .required)
            .field("last_used_at", .datetime)
            .field("revoked_at", .datetime)
            .unique(on: "key_hash")
            .create()
        try await database.schema("platform_rate_windows")
            .field("key_id", .uuid, .required)
            .field("window_start", .int64, .required)
            .field("count", .int, .required)
            .unique(on: "key_id", "window_start")
            .create()
        try await database.schema(VerificationSessionRecord.schema)
            .id()
            .field("platform_id", .uuid, .required, .references(PlatformRecord.schema, "id"))
            .field("program", .string, .required)
            .field("reference_sealed", .string, .required)
            .field("return_url", .string, .required)
            .field("locale", .string)
            .field("status", .string, .required)
            .field("account_id", .uuid, .references(AccountRecord.schema, "id"))
            .field("grant_id", .uuid)
            .field("created_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("completed_at", .datetime)
            .create()
        try await database.schema(GrantRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("platform_id", .uuid, .required, .references(PlatformRecord.schema, "id"))
            .field("subject", .string, .required)
            .field("claims", .string, .required)
            .field("session_id", .uuid)
            .field("granted_at", .datetime, .required)
            .field("expires_at", .datetime, .required)
            .field("revoked_at", .datetime)
            .field("revoked_by", .string)
            .field("last_queried_at", .datetime)
            .create()
        try await database.schema("grant_queries")
            .field("grant_id", .uuid, .required)
            .field("day", .string, .required)
            .field("count", .int, .required)
            .field("last_at", .datetime, .required)
            .unique(on: "grant_id", "day")
            .create()
        try await database.schema(OutboxMessageRecord.schema).field("platform_id", .uuid).update()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX platform_keys_platform ON platform_keys (platform_id)",
            "CREATE INDEX verification_sessions_account ON verification_sessions (account_id, status)",
            "CREATE INDEX grants_subject ON grants (platform_id, subject)",
            "CREATE INDEX grants_account ON grants (account_id, revoked_at)",
            "CREATE INDEX outbox_platform ON outbox_messages (platform_id, created_at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX outbox_platform"])
        try await database.schema(OutboxMessageRecord.schema).deleteField("platform_id").update()
        for table in ["grant_queries", GrantRecord.schema, VerificationSessionRecord.schema, "platform_rate_windows",
                      PlatformKeyRecord.schema, PlatformRecord.schema] {
            try await database.schema(table).delete()
        }
    }
}
