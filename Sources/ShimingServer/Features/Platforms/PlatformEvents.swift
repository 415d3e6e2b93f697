import Foundation
import ShimingCore

/// The webhooks a platform receives, queued in the outbox in the transaction of the change
/// they report. Payloads carry ids, states and times only — never personal data; the platform
/// asks the verification query for what its grant allows.
enum PlatformEvents {
    static let sessionCompleted = "verification_session.completed"
    static let verificationUpdated = "verification.updated"
    static let grantRevoked = "grant.revoked"

    struct Body: Encodable {
        var id: String
        var type: String
        var created: String
        var data: [String: String]
    }

    /// Queues one event for the platform, if it has a webhook URL.
    static func enqueue(_ type: String, to platform: Platform, data: [String: String], at now: Date, in tx: Store) async throws {
        guard let url = platform.webhookURL else { return }
        let delivery = UUID.timeOrdered(at: now)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Ids as the API's JSON spells them (the X-Shiming-Delivery header carries this one).
        let body = Body(id: delivery.uuidString, type: type, created: RFC3339.string(from: now), data: data)
        let text = String(decoding: try encoder.encode(body), as: UTF8.self)
        try await tx.enqueue(OutgoingMessage(channel: .webhook, to: url, template: type, text: text, platform: platform.id, deliveryID: delivery),
                             at: now)
    }

    /// Tells every platform the account has granted that its verification changed
    /// (`expired`, `renewed`, `revoked`, `frozen`, `unfrozen`); `grants`, the grants in force
    /// when the transaction read them already (`VerificationReads`).
    static func verificationChanged(account: UUID, change: String, grants inForce: [Grant]? = nil, at now: Date, in tx: Store) async throws {
        let grants: [Grant]
        if let inForce { grants = inForce } else { grants = try await tx.grants.inForce(account: account, at: now) }
        guard !grants.isEmpty else { return }
        let platforms = try await tx.platforms.find(grants.map(\.platformID))
        for grant in grants {
            guard let platform = platforms[grant.platformID] else { continue }
            try await enqueue(verificationUpdated, to: platform, data: ["subject": grant.subject, "change": change], at: now, in: tx)
        }
    }
}
