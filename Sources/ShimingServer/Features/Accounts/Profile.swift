import Foundation
import IdentityRules
import ShimingCore

/// Password change and reset, and the editable profile.
extension AccountService {
    struct PasswordChange: Codable, Sendable {
        var current: String
        var new: String
    }

    /// Changes the password after checking the current one; other sessions are ended.
    func changePassword(account: Account, keeping session: Session?, _ input: PasswordChange, ip: String?) async throws {
        guard let stored = try await store.accounts.passwordHash(of: account.id) else { throw CommonErrors.notFound }
        guard try await hasher.verify(input.current, against: stored) else {
            throw AccountError.invalid(["current": "invalid"])
        }
        guard input.new != input.current else { throw AccountError.invalid(["new": "same_as_current"]) }
        do throws(PasswordProblem) {
            try passwords.check(input.new, context: [account.username, account.phone, account.email].compactMap { $0 })
        } catch {
            throw AccountError.invalid(["new": error.rawValue])
        }
        let hash = try await hasher.hash(input.new)
        let now = self.now
        let keep = session?.id
        try await store.transaction { tx in
            try await tx.accounts.setPassword(account.id, hash: hash, unlocking: false, at: now)
            try await tx.sessions.revokeAll(of: account.id, except: keep, at: now)
            try await tx.audit("password.changed", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                               subject: AccountService.subject(account.id), ip: ip, at: now)
        }
    }

    struct PasswordReset: Codable, Sendable {
        var channel: String
        var destination: String
        var code: String
        var password: String
    }

    /// Sets a new password with a reset code sent to a confirmed contact (`POST /api/v1/codes`
    /// with purpose `reset_password`). Ends every session and lifts a sign-in lock; an account
    /// locked for its protection becomes active again.
    func resetPassword(_ input: PasswordReset, ip: String?) async throws {
        let index: IndexProbe
        switch input.channel {
        case "sms":
            guard let phone = try? MobileNumber.validate(input.destination) else { throw AccountError.invalid(["destination": "invalid_format"]) }
            index = phoneIndex(phone)
        case "email":
            guard let email = try? EmailAddress.validate(input.destination) else { throw AccountError.invalid(["destination": "invalid_format"]) }
            index = emailIndex(email)
        default:
            throw AccountError.invalid(["channel": "invalid_value"])
        }
        let now = self.now
        let store = store
        let outcome = try await store.transaction { [self] tx in
            try await codes.check(code: input.code, destinationIndexes: index.accepted, purpose: CodePurpose.resetPassword.rawValue, now: now, in: tx)
        }
        switch outcome {
        case .wrong: throw AccountError.invalidCode
        case .expired: throw AccountError.codeExpired
        case .accepted: break
        }
        // The code was right: from here on, bad input must not waste it, so the password is
        // checked against the policy before anything is stored, and a refusal names the field.
        guard let account = try await store.accounts.withContact(index) else { throw AccountError.codeExpired }
        let id = account.id
        do throws(PasswordProblem) {
            try passwords.check(input.password, context: [account.username, account.phone, account.email].compactMap { $0 })
        } catch {
            throw AccountError.invalid(["password": error.rawValue])
        }
        let hash = try await hasher.hash(input.password)
        try await store.transaction { tx in
            try await tx.accounts.setPassword(id, hash: hash, unlocking: true, at: now)
            try await tx.sessions.revokeAll(of: id, except: nil, at: now)
            try await clearSignInThrottles(of: id, in: tx)
            try await tx.audit("password.reset", actor: .account(id), subject: AccountService.subject(id), ip: ip,
                               details: ["channel": input.channel], at: now)
        }
    }

    /// Profile fields: login name, legal name and gender are locked (a change request with
    /// proof is needed); the rest can be edited.
    struct ProfilePatch: Codable, Sendable {
        var displayName: String?
        var locale: String?
        var username: String?
        var legalName: String?
        var gender: String?
    }

    func updateProfile(account: Account, _ patch: ProfilePatch, ip: String?) async throws -> Account {
        var locked: [String: String] = [:]
        if patch.username != nil { locked["username"] = "field_locked" }
        if patch.legalName != nil { locked["legalName"] = "field_locked" }
        if patch.gender != nil { locked["gender"] = "field_locked" }
        guard locked.isEmpty else {
            throw UserFacingError(
                code: "field_locked", kind: .invalidInput,
                message: LocalizedText("登录名、姓名和性别不能直接修改，请提交变更申请并附上证明材料。",
                                       "Login name, legal name and gender cannot be edited; file a change request with proof."),
                fields: locked
            )
        }
        var fields: [String: String] = [:]
        let displayName = patch.displayName?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let displayName, displayName.count > 40 { fields["displayName"] = "invalid_length" }
        if let locale = patch.locale, Lang(rawValue: locale) == nil { fields["locale"] = "invalid_value" }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        let now = self.now
        let store = store
        try await store.transaction { tx in
            guard let current = try await tx.accounts.find(account.id) else { return }
            var changed: [String] = []
            var newName: String??
            var newLocale: Lang?
            if let displayName, displayName != current.displayName {
                newName = .some(displayName.isEmpty ? nil : displayName)
                changed.append("displayName")
            }
            if let locale = patch.locale.flatMap(Lang.init(rawValue:)), locale != current.locale {
                newLocale = locale
                changed.append("locale")
            }
            guard !changed.isEmpty else { return }
            try await tx.accounts.setProfile(account.id, displayName: newName, locale: newLocale, at: now)
            try await tx.audit("profile.changed", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                               subject: AccountService.subject(account.id), ip: ip,
                               details: ["fields": changed.joined(separator: ",")], at: now)
        }
        guard let updated = try await store.accounts.find(account.id) else { throw CommonErrors.notFound }
        return updated
    }
}
