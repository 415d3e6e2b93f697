import Fluent
import Foundation

/// Which account a message to a person is about, so that the person's data export can list the
/// messages sent to them (messages from before carry none).
struct AddOutboxAccount: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OutboxMessageRecord.schema).field("account_id", .uuid).update()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX outbox_messages_account ON outbox_messages (account_id)"])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX outbox_messages_account"])
        try await database.schema(OutboxMessageRecord.schema).deleteField("account_id").update()
    }
}
