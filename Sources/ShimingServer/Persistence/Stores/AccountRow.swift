import Fluent
import Foundation
import ShimingCore
import SQLKit

/// The columns of `accounts` an `Account` is made of, read straight from an SQL row (the hot
/// paths: every signed-in request loads its account) or taken from a Fluent record (the rest);
/// one mapping to `Account` either way.
struct AccountRow: Sendable {
    var id: UUID
    var username: String?
    var phoneSealed: String?
    var phoneConfirmed: Bool
    var emailSealed: String?
    var emailConfirmed: Bool
    var guardianPhoneSealed: String?
    var guardianPhoneConfirmed: Bool
    var status: String
    var statusReason: String?
    var kind: String
    var roles: String
    var scopeSchool: String?
    var scopeGrade: String?
    var scopeClass: String?
    var legalNameSealed: String?
    var gender: String?
    var displayName: String?
    var locale: String
    var consents: String?
    var deletionDueAt: Date?
    var createdAt: Date

    /// The columns, for a `SELECT` (the row's own names, as `init(row:)` reads them).
    static let columns: SQLQueryString = """
        accounts.id, accounts.username, accounts.phone_sealed, accounts.phone_confirmed, accounts.email_sealed, accounts.email_confirmed,
        accounts.guardian_phone_sealed, accounts.guardian_phone_confirmed, accounts.status, accounts.status_reason, accounts.kind, accounts.roles,
        accounts.scope_school, accounts.scope_grade, accounts.scope_class, accounts.legal_name_sealed, accounts.gender, accounts.display_name,
        accounts.locale, accounts.consents, accounts.deletion_due_at, accounts.created_at
        """

    /// A row read with `columns`, the mapping specialised for the app's own rows (as
    /// `CaseStore.value(row:)` is).
    init(row: any SQLRow) throws {
        switch row {
        case let row as KeptRow: self = try Self(of: row)
        case let row as DirectSQLiteRow: self = try Self(of: row)
        default: self = try Self(of: row)
        }
    }

    init(of row: some SQLRow) throws {
        (id, username, phoneSealed, phoneConfirmed, emailSealed, emailConfirmed) = (
            try row.value("id"), try row.value("username"), try row.value("phone_sealed"), try row.value("phone_confirmed"),
            try row.value("email_sealed"), try row.value("email_confirmed"))
        (guardianPhoneSealed, guardianPhoneConfirmed, status, statusReason, kind, roles) = (
            try row.value("guardian_phone_sealed"), try row.value("guardian_phone_confirmed"), try row.value("status"),
            try row.value("status_reason"), try row.value("kind"), try row.value("roles"))
        (scopeSchool, scopeGrade, scopeClass, legalNameSealed, gender, displayName) = (
            try row.value("scope_school"), try row.value("scope_grade"), try row.value("scope_class"), try row.value("legal_name_sealed"),
            try row.value("gender"), try row.value("display_name"))
        (locale, consents, deletionDueAt, createdAt) = (
            try row.value("locale"), try row.value("consents"), try row.value("deletion_due_at"), try row.value("created_at"))
    }

    init(_ record: AccountRecord) throws {
        id = try record.requireID()
        (username, phoneSealed, phoneConfirmed, emailSealed, emailConfirmed) =
            (record.username, record.phoneSealed, record.phoneConfirmed, record.emailSealed, record.emailConfirmed)
        (guardianPhoneSealed, guardianPhoneConfirmed, status, statusReason, kind, roles) =
            (record.guardianPhoneSealed, record.guardianPhoneConfirmed, record.status, record.statusReason, record.kind, record.roles)
        (scopeSchool, scopeGrade, scopeClass, legalNameSealed, gender, displayName) =
            (record.scopeSchool, record.scopeGrade, record.scopeClass, record.legalNameSealed, record.gender, record.displayName)
        (locale, consents, deletionDueAt, createdAt) = (record.locale, record.consents, record.deletionDueAt, record.createdAt)
    }

    /// The sealed values of the row (whose keys are loaded before it is opened).
    var sealedValues: [String?] {
        [phoneSealed, emailSealed, guardianPhoneSealed, legalNameSealed, status == AccountStatus.frozen.rawValue ? statusReason : nil]
    }

    /// Decrypts the row into a domain value.
    func account(cipher: FieldCipher) throws -> Account {
        let id = id
        func open(_ sealed: String?, _ field: String) throws -> String? {
            try sealed.map { try cipher.open($0, context: AccountRecord.context(field, id)) }
        }
        let scope: ClassScope? = if let scopeSchool, let scopeGrade, let scopeClass {
            ClassScope(school: scopeSchool, grade: scopeGrade, className: scopeClass)
        } else { nil }
        return Account(
            id: id,
            username: username,
            phone: try open(phoneSealed, "phone"),
            phoneConfirmed: phoneConfirmed,
            email: try open(emailSealed, "email"),
            emailConfirmed: emailConfirmed,
            guardianPhone: try open(guardianPhoneSealed, "guardian_phone"),
            guardianPhoneConfirmed: guardianPhoneConfirmed,
            status: AccountStatus(rawValue: status) ?? .closed,
            // A freeze's reason is staff's words about a person: sealed like other personal data.
            statusReason: status == AccountStatus.frozen.rawValue ? try open(statusReason, "status_reason") : statusReason,
            kind: Account.Kind(rawValue: kind) ?? .applicant,
            roles: Set(roles.split(separator: ",").compactMap { StaffRole(rawValue: String($0)) }),
            scope: scope,
            legalName: try open(legalNameSealed, "legal_name"),
            gender: gender,
            displayName: displayName,
            locale: Lang(rawValue: locale) ?? .zhCN,
            createdAt: createdAt,
            consents: ConsentStore.parse(consents),
            deletionDueAt: deletionDueAt
        )
    }
}

extension AccountRecord {
    /// The associated-data context binding a sealed field to its column and row.
    static func context(_ field: String, _ id: UUID) -> String {
        "account.\(field).\(id.lowercasedText)"
    }
}
