import Foundation
import IdentityRules
import ShimingCore

/// An account as the rest of the server sees it: decrypted, plain values, `Sendable`.
public struct Account: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case applicant
        case staff
    }

    public var id: UUID
    public var username: String?
    public var phone: String?
    public var phoneConfirmed: Bool
    public var email: String?
    public var emailConfirmed: Bool
    public var guardianPhone: String?
    public var guardianPhoneConfirmed: Bool
    public var status: AccountStatus
    public var statusReason: String?
    public var kind: Kind
    public var roles: Set<StaffRole>
    public var scope: ClassScope?
    public var legalName: String?
    public var gender: String?
    public var displayName: String?
    public var locale: Lang
    public var createdAt: Date
    /// The hash of the consent text each kind was last accepted at (withdrawn ones are absent).
    var consents: [ConsentKind: String] = [:]
    /// When a deletion the person asked for takes effect, if one is pending.
    var deletionDueAt: Date? = nil

    /// Throws the account-state error (`account_frozen`, …) unless the account may act now.
    func checkMayAct() throws {
        switch status {
        case .active: return
        case .pendingActivation, .locked, .frozen, .closed: throw AccountError.accountState(status, reason: statusReason)
        }
    }

    /// Whether any contact has been confirmed.
    public var hasConfirmedContact: Bool { phoneConfirmed || emailConfirmed || guardianPhoneConfirmed }

    /// The contacts with masked values, for responses and pages.
    public var maskedContacts: [ContactView] {
        var contacts: [ContactView] = []
        if let phone { contacts.append(.init(channel: "sms", value: MobileNumber.mask(phone), confirmed: phoneConfirmed, role: "self")) }
        if let email { contacts.append(.init(channel: "email", value: EmailAddress.mask(email), confirmed: emailConfirmed, role: "self")) }
        if let guardianPhone {
            contacts.append(.init(channel: "sms", value: MobileNumber.mask(guardianPhone), confirmed: guardianPhoneConfirmed, role: "guardian"))
        }
        return contacts
    }
}

/// A contact as shown to its owner: masked.
public struct ContactView: Sendable, Codable, Equatable {
    /// `sms` or `email`.
    public var channel: String
    /// The masked value, e.g. `138****8000`.
    public var value: String
    public var confirmed: Bool
    /// `self`, or `guardian` for a minor's guardian's phone.
    public var role: String
}

