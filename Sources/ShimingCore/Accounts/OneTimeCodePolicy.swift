import Foundation

/// The rules for one-time codes sent by SMS or e-mail.
public struct OneTimeCodePolicy: Sendable {
    /// Digits per code.
    public var digits = 6
    /// How long a code can be used.
    public var lifetime: TimeInterval = 5 * 60
    /// Wrong entries after which a code is void.
    public var maxAttempts = 5
    /// Minimum time between two codes to the same destination.
    public var resendCooldown: TimeInterval = 60
    /// Codes per destination per day.
    public var dailyCapPerDestination = 10
    /// Codes per IP address per hour (registrations count too). High enough for a school
    /// computer lab registering a class behind one address, low enough to stop a script.
    public var hourlyCapPerIP = 100

    /// The default rules.
    public init() {}

    /// A new code from the random source: uniform over all `digits`-digit strings.
    public func generate(using random: any RandomSource) -> String {
        var code = ""
        for _ in 0..<digits {
            code += String(random.uniform(below: 10))
        }
        return code
    }
}

/// What a code is for; a code made for one purpose cannot be used for another.
public enum CodePurpose: String, Sendable, Codable, CaseIterable {
    /// Confirming a phone number or e-mail address at registration (or after a change).
    case confirmContact = "confirm_contact"
    /// Resetting a forgotten password.
    case resetPassword = "reset_password"
    /// Signing in with a code instead of a password.
    case signIn = "sign_in"
    /// The second confirmation of a verification (P1).
    case confirmVerification = "confirm_verification"
    /// A guardian's consent for a minor (PIPL art. 31).
    case guardianConsent = "guardian_consent"
}
