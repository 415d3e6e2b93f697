import Foundation
import ShimingCore

/// "Who looked at my data" (PIPL arts. 44–45): every time staff opened the person's application,
/// a document or their account, every value revealed in full (with the purpose the staff member
/// gave), every platform query about them and every export of their data. It is read from the
/// audit log, so it cannot disagree with it. Staff appear by role, never by name.
struct AccessLogService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    var store: Store { stores() }

    /// What happened, by the audit action it is read from.
    enum Kind: String, Sendable, CaseIterable {
        case caseViewed = "case_viewed"
        case documentViewed = "document_viewed"
        case revealed
        case accountViewed = "account_viewed"
        case changeRequestViewed = "change_request_viewed"
        case proofViewed = "proof_viewed"
        case platformQuery = "platform_query"
        case exported

        static let byAction: [String: Kind] = [
            "case.viewed": .caseViewed, "case.document_viewed": .documentViewed, "case.revealed": .revealed,
            "account.viewed": .accountViewed, "change_request.viewed": .changeRequestViewed, "change_request.proof_viewed": .proofViewed,
            "verification.queried": .platformQuery, "account.exported": .exported,
        ]
    }

    /// Who looked.
    enum Viewer: Sendable, Equatable {
        /// A staff member, by their highest role (nil when the account is gone).
        case staff(StaffRole?)
        case platform(String)
        /// The person themselves (an export).
        case themselves
    }

    struct Entry: Sendable, Equatable {
        var seq: Int64
        var at: Date
        var kind: Kind
        var viewer: Viewer
        /// The value revealed (`identity.documentNumber`), for a reveal.
        var field: String?
        /// The purpose the staff member gave, for a reveal.
        var purpose: String?
    }

    static let maxLimit = 200

    /// The newest entries first, `limit` at most, older than `before` when given.
    func entries(for account: Account, before: Int64? = nil, limit: Int = 100) async throws -> [Entry] {
        let subjects = try await store.accessLog.subjects(of: account.id)
        return try await page(subjects, before: before, limit: min(max(limit, 1), Self.maxLimit)).entries
    }

    /// Every entry, newest first (the data export holds them all), read a page at a time.
    func all(for account: Account) async throws -> [Entry] {
        let subjects = try await store.accessLog.subjects(of: account.id)
        var entries: [Entry] = []
        var before: Int64?
        repeat {
            let page = try await page(subjects, before: before, limit: Self.maxLimit)
            entries += page.entries
            before = page.next
        } while before != nil
        return entries
    }

    /// One page of entries about these subjects, and the sequence number to read on from
    /// (nil when this was the last page).
    private func page(_ subjects: [String], before: Int64?, limit: Int) async throws -> (entries: [Entry], next: Int64?) {
        let store = store
        let events = try await store.accessLog.events(subjects: subjects, actions: Array(Kind.byAction.keys), before: before, limit: limit)
        let actors = events.map { Self.actor($0.actor) }
        let roles = try await store.accessLog.staffRoles(actors.compactMap { if case .staff(let id)? = $0 { id } else { nil } })
        let platforms = try await store.accessLog.platformNames(actors.compactMap { if case .platform(let id)? = $0 { id } else { nil } })
        let entries: [Entry] = zip(events, actors).compactMap { event, actor in
            guard let kind = Kind.byAction[event.action] else { return nil }
            let viewer: Viewer
            switch actor {
            case .staff(let id)?: viewer = .staff(roles[id]?.max { $0.rank < $1.rank })
            case .platform(let id)?: viewer = .platform(platforms[id] ?? "—")
            default: viewer = .themselves
            }
            var entry = Entry(seq: event.seq, at: event.occurredAt, kind: kind, viewer: viewer)
            if kind == .revealed {
                let details = Self.details(event.details)
                entry.field = details["field"]
                entry.purpose = purpose(details["purposeSealed"], subject: event.subject)
            }
            return entry
        }
        return (entries, events.count == limit ? events.last?.seq : nil)
    }

    /// The reveal's purpose, opened for the person it is about.
    func purpose(_ sealed: String?, subject: String?) -> String? {
        guard let sealed, let subject, subject.hasPrefix("case:"), let caseID = UUID(uuidString: String(subject.dropFirst(5))) else { return nil }
        return try? context.cipher.open(sealed, context: ReviewService.revealPurposeContext(caseID))
    }

    static func details(_ json: String) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
    }

    enum Actor { case staff(UUID), platform(UUID), account(UUID) }

    /// `staff:<id>` → `.staff(id)`, and so on.
    static func actor(_ text: String) -> Actor? {
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let id = UUID(uuidString: String(parts[1])) else { return nil }
        switch parts[0] {
        case "staff": return .staff(id)
        case "platform": return .platform(id)
        case "account": return .account(id)
        default: return nil
        }
    }
}
