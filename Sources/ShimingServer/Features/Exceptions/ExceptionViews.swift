import Foundation
import IdentityRules
import ShimingCore
import Vapor

struct RiskAlertView: Content {
    var id: UUID
    var kind: String
    var subject: String
    var program: String?
    var details: [String: String]
    var note: String?
    var raisedBy: UUID?
    var state: String
    var count: Int
    var createdAt: Date
    var lastSeenAt: Date
    var acknowledgedBy: UUID?
    var acknowledgedAt: Date?
    var resolvedBy: UUID?
    var resolvedAt: Date?
    var resolution: String?

    init(_ alert: RiskAlert, cipher: FieldCipher) throws {
        id = alert.id
        kind = alert.kind
        subject = alert.subject
        program = alert.program
        details = alert.details
        let context = RiskAlert.context(id)
        note = try alert.noteSealed.map { try cipher.open($0, context: context) }
        raisedBy = alert.raisedBy
        state = alert.state.rawValue
        count = alert.count
        createdAt = alert.createdAt
        lastSeenAt = alert.lastSeenAt
        acknowledgedBy = alert.acknowledgedBy
        acknowledgedAt = alert.acknowledgedAt
        resolvedBy = alert.resolvedBy
        resolvedAt = alert.resolvedAt
        resolution = try alert.resolutionSealed.map { try cipher.open($0, context: context) }
    }
}

struct FeedbackView: Content {
    var id: UUID
    var accountId: UUID
    var caseId: UUID?
    var page: String?
    var text: String
    var tags: [String]
    var state: String
    var createdAt: Date
    var answer: String?
    var answeredAt: Date?

    init(_ item: FeedbackService.Item) {
        id = item.feedback.id
        accountId = item.feedback.accountID
        caseId = item.feedback.caseID
        page = item.feedback.page
        text = item.text
        tags = item.feedback.tags
        state = item.feedback.state.rawValue
        createdAt = item.feedback.createdAt
        answer = item.answer
        answeredAt = item.feedback.answeredAt
    }
}
