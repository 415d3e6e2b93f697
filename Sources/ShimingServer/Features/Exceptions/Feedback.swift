import Foundation
import IdentityRules
import ShimingCore

/// Feedback from any page, by applicants and staff; staff read, tag and answer it (the answer
/// goes to the sender through the outbox and shows on their feedback list).
struct FeedbackService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }

    init(context: ShimingContext, stores: @escaping StoreProvider) {
        self.context = context
        self.stores = stores
    }

    /// One piece of feedback, opened.
    struct Item: Sendable {
        var feedback: Feedback
        var text: String
        var answer: String?
    }

    /// Feedback opened, its senders' keys loaded first.
    func open(_ list: [Feedback]) async throws -> [Item] {
        try await context.accountKeys.prepare(list.flatMap { [$0.textSealed, $0.answerSealed] })
        return try list.map(open)
    }

    private func open(_ feedback: Feedback) throws -> Item {
        let context = Feedback.context(feedback.id)
        return Item(feedback: feedback, text: try self.context.cipher.open(feedback.textSealed, context: context),
                    answer: try feedback.answerSealed.map { try self.context.cipher.open($0, context: context) })
    }

    /// Sends feedback. A case named must be the sender's own (staff may name any case).
    func send(text: String?, caseID: UUID?, page: String?, account: Account, ip: String?) async throws -> Item {
        let text = try FreezeService.text(text, field: "text", max: 2000)
        let page = page.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let page, !page.hasPrefix("/") || page.count > 200 || page.contains("?") { throw AccountError.invalid(["page": "invalid_value"]) }
        let store = store
        if let caseID {
            let owner = try await store.cases.find(caseID)?.accountID
            guard let owner, owner == account.id || account.kind == .staff else { throw AccountError.invalid(["caseId": "not_found"]) }
        }
        let id = UUID()
        let feedback = Feedback(id: id, accountID: account.id, caseID: caseID, page: page,
                                textSealed: try await context.sealer(for: account.id).seal(text, context: Feedback.context(id)),
                                tags: [], state: .new, createdAt: now)
        let actor: AuditActor = account.kind == .staff ? .staff(account.id) : .account(account.id)
        try await store.transaction { [now] tx in
            try await tx.feedback.insert(feedback)
            try await tx.audit("feedback.sent", actor: actor, subject: Self.subject(id), ip: ip,
                               details: ["case": caseID?.lowercasedText ?? "", "page": page ?? ""], at: now)
        }
        return Item(feedback: feedback, text: text, answer: nil)
    }

    static func subject(_ id: UUID) -> String { "feedback:\(id.lowercasedText)" }

    func mine(_ account: Account) async throws -> [Item] {
        try await open(store.feedback.sent(by: account.id, limit: 100))
    }

    /// Feedback in a state (`all` by default), optionally only with a tag.
    func list(state: String?, tag: String?) async throws -> [Item] {
        var wanted: FeedbackState?
        if let state, state != "all" {
            guard let one = FeedbackState(rawValue: state) else { throw AccountError.invalid(["state": "invalid_value"]) }
            wanted = one
        }
        let items = try await open(store.feedback.list(state: wanted, limit: 500))
        guard let tag, !tag.isEmpty else { return items }
        return items.filter { $0.feedback.tags.contains(tag) }
    }

    /// How many pieces of feedback nobody has read yet.
    func unreadCount() async throws -> Int { try await store.feedback.count(in: .new) }

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
        let feedback = try await store.transaction { [now] tx -> Feedback in
            guard var feedback = try await tx.feedback.find(id) else { throw CommonErrors.notFound }
            var details: [String: String] = [:]
            if let tags {
                var seen = Set<String>()
                feedback.tags = tags.map { $0.trimmingCharacters(in: .whitespaces) }.filter { seen.insert($0).inserted }
                details["tags"] = feedback.tags.joined(separator: ",")
            }
            if read == true, feedback.state == .new {
                feedback.state = .read
                feedback.readBy = staff.id
                feedback.readAt = now
                details["read"] = "true"
            }
            try await tx.feedback.update(feedback)
            try await tx.audit("feedback.updated", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, details: details, at: now)
            return feedback
        }
        return try await open([feedback])[0]
    }

    /// Answers feedback; the sender is told by SMS or e-mail.
    func answer(_ id: UUID, text: String?, staff: Account, ip: String?) async throws -> Item {
        let text = try FreezeService.text(text, field: "text", max: 2000)
        guard let sender = try await store.feedback.find(id)?.accountID else { throw CommonErrors.notFound }
        let sealed = try await context.sealer(for: sender).seal(text, context: Feedback.context(id))
        let feedback = try await store.transaction { [now] tx -> Feedback in
            guard var feedback = try await tx.feedback.find(id) else { throw CommonErrors.notFound }
            feedback.state = .answered
            feedback.readBy = feedback.readBy ?? staff.id
            feedback.readAt = feedback.readAt ?? now
            feedback.answerSealed = sealed
            feedback.answeredBy = staff.id
            feedback.answeredAt = now
            try await tx.feedback.update(feedback)
            try await tx.audit("feedback.answered", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, at: now)
            if let sender = try await tx.accounts.find(feedback.accountID) {
                let subject = LocalizedText("您的反馈已有回复", "An answer to your feedback")(sender.locale)
                let body = LocalizedText("您的反馈已有回复：", "An answer to your feedback: ")(sender.locale) + text
                if let message = OutgoingMessage.notice(to: sender, template: "feedback_answered", subject: subject,
                                                        text: MessageTemplates.brand(sender.locale) + body, code: nil) {
                    try await tx.enqueue(message, at: now)
                }
            }
            return feedback
        }
        return try await open([feedback])[0]
    }
}
