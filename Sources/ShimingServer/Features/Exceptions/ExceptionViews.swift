import FluentKit
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

    init(_ record: RiskAlertRecord, cipher: FieldCipher) throws {
        id = try record.requireID()
        kind = record.kind
        subject = record.subject
        program = record.program
        details = (try? JSONDecoder().decode([String: String].self, from: Data(record.details.utf8))) ?? [:]
        let context = RiskAlertRecord.context(id)
        note = try record.noteSealed.map { try cipher.open($0, context: context) }
        raisedBy = record.raisedBy
        state = record.state
        count = record.count
        createdAt = record.createdAt
        lastSeenAt = record.lastSeenAt
        acknowledgedBy = record.acknowledgedBy
        acknowledgedAt = record.acknowledgedAt
        resolvedBy = record.resolvedBy
        resolvedAt = record.resolvedAt
        resolution = try record.resolutionSealed.map { try cipher.open($0, context: context) }
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

    init(_ item: FeedbackService.Item) throws {
        id = try item.record.requireID()
        accountId = item.record.accountID
        caseId = item.record.caseID
        page = item.record.page
        text = item.text
        tags = item.tags
        state = item.record.state
        createdAt = item.record.createdAt
        answer = item.answer
        answeredAt = item.record.answeredAt
    }
}
