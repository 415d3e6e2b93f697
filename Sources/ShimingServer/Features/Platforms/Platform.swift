import Foundation
import ShimingCore

/// A relying platform as Shiming knows it: where its users come back to, where its webhooks
/// go, which programs' verifications it accepts and which claims it may ask for.
struct Platform: Sendable, Equatable {
    var id: UUID
    var name: String
    /// What the platform uses the claims for, in the words the consent screen shows.
    var purpose: String
    var redirectURIs: [String]
    var webhookURL: String?
    var programs: [String]
    var claims: [PlatformClaim]
    var createdAt: Date
    var updatedAt: Date
}

/// One API key of a platform (never the key itself: it is shown once, then only its hash is kept).
struct PlatformKey: Sendable, Equatable {
    var id: UUID
    var platformID: UUID
    /// `sk_live_` and the first characters, to tell keys apart on screen.
    var prefix: String
    var createdAt: Date
    var lastUsedAt: Date?
    var revokedAt: Date?
}

/// A hosted verification session.
struct VerificationSession: Sendable, Equatable {
    var id: UUID
    var platformID: UUID
    var program: String
    /// The platform's own id for its user (sealed at rest).
    var reference: String
    var returnURL: String
    var locale: String?
    var status: VerificationSessionStatus
    var accountID: UUID?
    var grantID: UUID?
    var createdAt: Date
    var expiresAt: Date
    var completedAt: Date?

    /// The status as of `now`: a session nobody finished in time is expired, whatever the row says.
    func status(at now: Date) -> VerificationSessionStatus {
        !status.isFinal && now >= expiresAt ? .expired : status
    }

    /// Where the browser goes back to, with the session and how it ended.
    func returnLocation(_ status: VerificationSessionStatus) -> String {
        var components = URLComponents(string: returnURL)
        var items = components?.queryItems ?? []
        // The id as the API's JSON spells it, so the platform can compare the two as strings.
        items.append(URLQueryItem(name: "session", value: id.uuidString))
        items.append(URLQueryItem(name: "status", value: status.rawValue))
        components?.queryItems = items
        return components?.string ?? returnURL
    }
}

/// A person's consent that one platform may ask about them.
struct Grant: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    var platformID: UUID
    /// The pairwise identifier the platform knows the person by.
    var subject: String
    var claims: [PlatformClaim]
    var sessionID: UUID?
    var grantedAt: Date
    var expiresAt: Date
    var revokedAt: Date?
    /// `subject` (the person withdrew it), `replaced` (a newer grant took its place) or a staff reason.
    var revokedBy: String?
    var lastQueriedAt: Date?

    func inForce(at now: Date) -> Bool { revokedAt == nil && now < expiresAt }
}

/// How often a platform asked about a person on one day (China time).
struct GrantQueryDay: Sendable, Equatable {
    var grantID: UUID
    var day: String
    var count: Int
    var lastAt: Date
}
