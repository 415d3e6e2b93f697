import Foundation
import ShimingCore

/// A piece of feedback as the services see it; the text and the answer stay sealed here.
struct Feedback: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    var caseID: UUID?
    /// The page it was sent from (a path, no query).
    var page: String?
    var textSealed: String
    var tags: [String]
    var state: FeedbackState
    var createdAt: Date
    var readBy: UUID?
    var readAt: Date?
    var answerSealed: String?
    var answeredBy: UUID?
    var answeredAt: Date?

    /// The encryption context of the feedback's sealed texts.
    static func context(_ id: UUID) -> String { "feedback.\(id.lowercasedText)" }
}
