import Foundation
import IdentityRules
import ShimingCore

/// Creating staff accounts: from the command line (`shiming admin create`) and by admins
/// through the API. Staff accounts are active at once: an administrator vouches for them.
extension AccountService {
    struct StaffInput: Codable, Sendable {
        var username: String
        var password: String
        var roles: [String]
        var phone: String?
        var email: String?
        var school: String?
        var grade: String?
        var `class`: String?
    }

    func createStaff(_ input: StaffInput, actor: AuditActor, ip: String?) async throws -> Account {
        var fields: [String: String] = [:]
        let username = input.username.trimmingCharacters(in: .whitespaces)
        if !Self.isValidUsername(username) { fields["username"] = "invalid_format" }
        let roles = input.roles.map { StaffRole(rawValue: $0.lowercased()) }
        if roles.isEmpty || roles.contains(nil) { fields["roles"] = "invalid_value" }
        var phone: String?, email: String?
        if let raw = input.phone, !raw.isEmpty {
            do throws(DocumentError) { phone = try MobileNumber.validate(raw) } catch { fields["phone"] = error.rawValue }
        }
        if let raw = input.email, !raw.isEmpty {
            do throws(DocumentError) { email = try EmailAddress.validate(raw) } catch { fields["email"] = error.rawValue }
        }
        let scopeParts = [input.school, input.grade, input.class].map { $0?.trimmingCharacters(in: .whitespaces) ?? "" }
        let scope: ClassScope? = scopeParts.allSatisfy(\.isEmpty) ? nil
            : ClassScope(school: scopeParts[0], grade: scopeParts[1], className: scopeParts[2])
        if let scope, [scope.school, scope.grade, scope.className].contains(where: \.isEmpty) {
            fields["class"] = "required"  // a teacher's scope names school, grade and class
        }
        if roles.contains(.teacher), scope == nil { fields["school"] = "required" }
        do throws(PasswordProblem) {
            try passwords.check(input.password, context: [username.lowercased(), phone, email].compactMap { $0 })
        } catch {
            fields["password"] = error.rawValue
        }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        let lowered = username.lowercased()
        try await refuseDuplicates(username: lowered, phone: phone, email: email, at: .distantPast)  // staff take over no reservation

        let passwordHash = try await hasher.hash(input.password)
        let now = self.now
        let id = UUID()
        let roleList = roles.compactMap { $0 }.sorted().map(\.rawValue)
        let account = Account(
            id: id, username: lowered, phone: phone, phoneConfirmed: false, email: email, emailConfirmed: false,
            guardianPhone: nil, guardianPhoneConfirmed: false, status: .active, statusReason: nil, kind: .staff,
            roles: Set(roles.compactMap { $0 }), scope: scope, legalName: nil, gender: nil, displayName: nil, locale: .zhCN, createdAt: now
        )
        do {
            try await store.transaction { tx in
                try await tx.accounts.insert(account, passwordHash: passwordHash, termsVersion: nil, at: now)
                var details = ["roles": roleList.joined(separator: ","), "username": lowered]
                if let scope { details["scope"] = "\(scope.school)/\(scope.grade)/\(scope.className)" }
                try await tx.audit("staff.created", actor: actor, subject: AccountService.subject(id), ip: ip, details: details, at: now)
            }
        } catch is DuplicateRow {
            // Two admins raced for the same name or contact: name the field.
            try await refuseDuplicates(username: lowered, phone: phone, email: email, at: .distantPast)  // staff take over no reservation
            throw AccountError.taken("username")
        }
        return account
    }
}
