import Fluent
import Foundation

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
