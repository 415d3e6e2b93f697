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
    /// The platform a webhook is for (its delivery log); nil for messages to people.
    @OptionalField(key: "platform_id") var platformID: UUID?
    /// The account a message to a person is about (`OutgoingMessage.account`).
    @OptionalField(key: "account_id") var accountID: UUID?

    init() {}
}
