import Fluent
import Foundation
import ShimingCore

extension Store {
    /// Feedback from any page.
    var feedback: FeedbackStore { FeedbackStore(db: database) }
}

/// Rows of `feedback` ⇄ `Feedback` values (tags are stored comma-separated).
struct FeedbackStore: Sendable {
    let db: any Database

    func find(_ id: UUID) async throws -> Feedback? {
        try await FeedbackRecord.find(id, on: db).map(Self.value)
    }

    func insert(_ item: Feedback) async throws {
        let record = FeedbackRecord()
        record.id = item.id
        Self.fill(record, from: item)
        try await record.create(on: db)
    }

    func update(_ item: Feedback) async throws {
        guard let record = try await FeedbackRecord.find(item.id, on: db) else { throw CommonErrors.notFound }
        Self.fill(record, from: item)
        try await record.save(on: db)
    }

    /// Feedback sent by one account, newest first.
    func sent(by accountID: UUID, limit: Int) async throws -> [Feedback] {
        try await FeedbackRecord.query(on: db).filter(\.$accountID == accountID).sort(\.$createdAt, .descending)
            .limit(limit).all().map(Self.value)
    }

    /// Feedback in a state (any when nil), newest first.
    func list(state: FeedbackState?, limit: Int) async throws -> [Feedback] {
        var query = FeedbackRecord.query(on: db)
        if let state { query = query.filter(\.$state == state.rawValue) }
        return try await query.sort(\.$createdAt, .descending).limit(limit).all().map(Self.value)
    }

    func count(in state: FeedbackState) async throws -> Int {
        try await FeedbackRecord.query(on: db).filter(\.$state == state.rawValue).count()
    }

    private static func fill(_ record: FeedbackRecord, from item: Feedback) {
        record.accountID = item.accountID
        record.caseID = item.caseID
        record.page = item.page
        record.textSealed = item.textSealed
        record.tags = item.tags.joined(separator: ",")
        record.state = item.state.rawValue
        record.createdAt = item.createdAt
        record.readBy = item.readBy
        record.readAt = item.readAt
        record.answerSealed = item.answerSealed
        record.answeredBy = item.answeredBy
        record.answeredAt = item.answeredAt
    }

    private static func value(_ record: FeedbackRecord) throws -> Feedback {
        Feedback(
            id: try record.requireID(), accountID: record.accountID, caseID: record.caseID, page: record.page,
            textSealed: record.textSealed, tags: record.tags.split(separator: ",").map(String.init),
            state: FeedbackState(rawValue: record.state) ?? .new, createdAt: record.createdAt, readBy: record.readBy,
            readAt: record.readAt, answerSealed: record.answerSealed, answeredBy: record.answeredBy, answeredAt: record.answeredAt
        )
    }
}
