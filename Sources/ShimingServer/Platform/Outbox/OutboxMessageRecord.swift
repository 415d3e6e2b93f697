import Fluent
import Foundation

/// A row of the outbox: one message waiting for, or done with, delivery. The recipient and the
/// content are personal data and are stored sealed; only routing facts are in the clear.
final class OutboxMessageRecord: Model, @unchecked Sendable {
    static let schema = "outbox_messages"

    @ID(key: .id) var id: UUID?
    @Field(key: "channel") var channel: String
    @Field(key: "template") var template: String
    @Field(key: "payload") var payload: String
    @Field(key: "status") var status: String
    @Field(key: "attempts") var attempts: Int
    @Field(key: "next_attempt_at") var nextAttemptAt: Date
    @OptionalField(key: "lease_until") var leaseUntil: Date?
    @OptionalField(key: "last_error") var lastError: String?
    @Field(key: "created_at") var createdAt: Date
    @OptionalField(key: "sent_at") var sentAt: Date?

    init() {}
}

/// Delivery states of an outbox message.
public enum OutboxStatus: String, Sendable, Codable {
    /// Waiting for its next attempt.
    case pending
    /// Claimed by a worker until its lease ends.
    case sending
    /// Delivered.
    case sent
    /// Gave up after the maximum number of attempts; kept for admins to see and resend.
    case failed
}

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
