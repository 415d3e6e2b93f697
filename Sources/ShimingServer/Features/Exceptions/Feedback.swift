import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Feedback from any page, by applicants and staff; staff read, tag and answer it (the answer
/// goes to the sender through the outbox and shows on their feedback list).
struct FeedbackService: Sendable {
    let context: ShimingContext
    let database: DatabaseProvider
    var db: any Database { database() }
    var now: Date { context.services.clock.now() }

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        self.context = context
        self.database = database
    }

    /// One piece of feedback, opened.
    struct Item: Sendable {
        var record: FeedbackRecord
        var text: String
        var answer: String?
        var tags: [String] { record.tags.split(separator: ",").map(String.init) }
    }

    func open(_ record: FeedbackRecord) throws -> Item {
        let id = try record.requireID()
        return Item(record: record, text: try context.cipher.open(record.textSealed, context: FeedbackRecord.context(id)),
                    answer: try record.answerSealed.map { try context.cipher.open($0, context: FeedbackRecord.context(id)) })
    }

    /// Sends feedback. A case named must be the sender's own (staff may name any case).
    func send(text: String?, caseID: UUID?, page: String?, account: Account, ip: String?) async throws -> Item {
        let text = try FreezeService.text(text, field: "text", max: 2000)
        let page = page.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let page, !page.hasPrefix("/") || page.count > 200 || page.contains("?") { throw AccountError.invalid(["page": "invalid_value"]) }
        if let caseID {
            let record = try await CaseRecord.find(caseID, on: db)
            guard let record, record.accountID == account.id || account.kind == .staff else { throw AccountError.invalid(["caseId": "not_found"]) }
        }
        let id = UUID()
        let sealed = try context.cipher.seal(text, context: FeedbackRecord.context(id))
        let record = FeedbackRecord()
        record.id = id
        record.accountID = account.id
        record.caseID = caseID
        record.page = page
        record.textSealed = sealed
        record.tags = ""
        record.state = FeedbackState.new.rawValue
        record.createdAt = now
        let actor: AuditActor = account.kind == .staff ? .staff(account.id) : .account(account.id)
        try await context.writeGate.transaction(on: db) { [now] tx in
            try await record.create(on: tx)
            try await AuditLog.record("feedback.sent", actor: actor, subject: Self.subject(id), ip: ip,
                                      details: ["case": caseID?.uuidString.lowercased() ?? "", "page": page ?? ""], at: now, on: tx)
        }
        return Item(record: record, text: text, answer: nil)
    }

    static func subject(_ id: UUID) -> String { "feedback:\(id.uuidString.lowercased())" }

    func mine(_ account: Account) async throws -> [Item] {
        try await FeedbackRecord.query(on: db).filter(\.$accountID == account.id).sort(\.$createdAt, .descending).limit(100).all().map(open)
    }

    func list(state: String?, tag: String?) async throws -> [Item] {
        var query = FeedbackRecord.query(on: db)
        switch state ?? "all" {
        case "all": break
        case let state where FeedbackState(rawValue: state) != nil: query = query.filter(\.$state == state)
        default: throw AccountError.invalid(["state": "invalid_value"])
        }
        let items = try await query.sort(\.$createdAt, .descending).limit(500).all().map(open)
        guard let tag, !tag.isEmpty else { return items }
        return items.filter { $0.tags.contains(tag) }
    }

    /// A tag: 1–30 letters, digits, `_` or `-`.
    static func validTag(_ tag: String) -> Bool {
        (1...30).contains(tag.count) && tag.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" }
    }

    /// Marks feedback read and/or sets its tags.
    func update(_ id: UUID, tags: [String]?, read: Bool?, staff: Account, ip: String?) async throws -> Item {
        if let tags {
            let cleaned = tags.map { $0.trimmingCharacters(in: .whitespaces) }
            guard cleaned.count <= 10, cleaned.allSatisfy(Self.validTag) else { throw AccountError.invalid(["tags": "invalid_value"]) }
        }
        let record = try await context.writeGate.transaction(on: db) { [now] tx -> FeedbackRecord in
            guard let record = try await FeedbackRecord.find(id, on: tx) else { throw CommonErrors.notFound }
            var details: [String: String] = [:]
            if let tags {
                var seen = Set<String>()
                record.tags = tags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { seen.insert($0).inserted }.joined(separator: ",")
                details["tags"] = record.tags
            }
            if read == true, record.state == FeedbackState.new.rawValue {
                record.state = FeedbackState.read.rawValue
                record.readBy = staff.id
                record.readAt = now
                details["read"] = "true"
            }
            try await record.save(on: tx)
            try await AuditLog.record("feedback.updated", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, details: details, at: now, on: tx)
            return record
        }
        return try open(record)
    }

    /// Answers feedback; the sender is told by SMS or e-mail.
    func answer(_ id: UUID, text: String?, staff: Account, ip: String?) async throws -> Item {
        let text = try FreezeService.text(text, field: "text", max: 2000)
        let sealed = try context.cipher.seal(text, context: FeedbackRecord.context(id))
        let cipher = context.cipher
        let record = try await context.writeGate.transaction(on: db) { [now] tx -> FeedbackRecord in
            guard let record = try await FeedbackRecord.find(id, on: tx) else { throw CommonErrors.notFound }
            record.state = FeedbackState.answered.rawValue
            record.readBy = record.readBy ?? staff.id
            record.readAt = record.readAt ?? now
            record.answerSealed = sealed
            record.answeredBy = staff.id
            record.answeredAt = now
            try await record.save(on: tx)
            try await AuditLog.record("feedback.answered", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, at: now, on: tx)
            if let sender = try await AccountRecord.find(record.accountID, on: tx)?.account(cipher: cipher) {
                let subject = LocalizedText("您的反馈已有回复", "An answer to your feedback")(sender.locale)
                let body = LocalizedText("您的反馈已有回复：", "An answer to your feedback: ")(sender.locale) + text
                if let message = OutgoingMessage.notice(to: sender, template: "feedback_answered", subject: subject,
                                                        text: MessageTemplates.brand(sender.locale) + body, code: nil) {
                    _ = try await Outbox(cipher: cipher).enqueue(message, at: now, on: tx)
                }
            }
            return record
        }
        return try open(record)
    }
}
