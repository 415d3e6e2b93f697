import Foundation
import ShimingCore

/// A risk alert as the services see it (P5). Notes and resolutions stay sealed here; the
/// service seals them under `RiskAlert.context(id)` and the views open them for staff.
struct RiskAlert: Sendable, Equatable {
    var id: UUID
    var kind: String
    /// What the alert is about: `case:…`, `account:…`, `ip:…`, `staff:…`.
    var subject: String
    var program: String?
    var details: [String: String]
    var noteSealed: String?
    var raisedBy: UUID?
    var state: RiskAlertState
    var count: Int
    var createdAt: Date
    var lastSeenAt: Date
    var acknowledgedBy: UUID?
    var acknowledgedAt: Date?
    var resolvedBy: UUID?
    var resolvedAt: Date?
    var resolutionSealed: String?

    /// The encryption context of an alert's sealed texts.
    static func context(_ id: UUID) -> String { "risk_alert.\(id.lowercasedText)" }
}
