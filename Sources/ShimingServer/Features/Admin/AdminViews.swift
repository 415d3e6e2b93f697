import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// An account as staff see it: the account (masked), why it is frozen or locked, and its sign-in lock.
struct StaffAccountView: Content {
    var account: AccountView
    var statusReason: String?
    /// When sign-in is locked after repeated failures: until when.
    var signInLockedUntil: Date?
    var recentFailedSignIns: Int
}

/// An outbox message as staff see it: never its text, the recipient masked.
struct OutboxEntryView: Content {
    var id: UUID
    var channel: String
    var template: String
    /// The recipient, masked.
    var to: String
    var status: String
    var attempts: Int
    var lastError: String?
    var createdAt: Date
    var nextAttemptAt: Date
    var sentAt: Date?
}
