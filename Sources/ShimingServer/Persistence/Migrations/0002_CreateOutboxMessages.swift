import Fluent
import Foundation

struct CreateOutboxMessages: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMessageRecord.schema)
            .id()
            .field("channel", .string, .required)
            .field("template", .string, .required)
            .field("payload", .string, .required)
            .field("status", .string, .required)
            .field("attempts", .int, .required)
            .field("next_attempt_at", .datetime, .required)
            .field("lease_until", .datetime)
            .field("last_error", .string)
            .field("created_at", .datetime, .required)
            .field("sent_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX outbox_due ON outbox_messages (status, next_attempt_at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(OutboxMessageRecord.schema).delete()
    }
}
