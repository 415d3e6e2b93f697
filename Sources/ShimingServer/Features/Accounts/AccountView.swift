import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// An account as the API shows it: contacts masked.
struct AccountView: Content {
    var id: UUID
    var username: String?
    var status: String
    var kind: String
    var roles: [String]
    var contacts: [ContactView]
    var displayName: String?
    /// The legal name on record (masked), once verified or changed by request.
    var legalName: String?
    /// `male` or `female`, once on record.
    var gender: String?
    var locale: String
    var createdAt: Date
    /// Why a frozen account is frozen (what the holder may appeal against).
    var frozenReason: String?

    init(_ account: Account) {
        id = account.id
        username = account.username
        status = account.status.rawValue
        kind = account.kind.rawValue
        roles = account.roles.sorted().map(\.rawValue)
        contacts = account.maskedContacts
        displayName = account.displayName
        legalName = account.legalName.map(PersonalName.mask)
        gender = account.gender
        locale = account.locale.rawValue
        createdAt = account.createdAt
        frozenReason = account.status == .frozen ? account.statusReason : nil
    }
}
