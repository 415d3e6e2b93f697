import Fluent
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
    func changePassword(account: Account, keeping session: SessionRecord?, _ input: PasswordChange, ip: String?) async throws {
        guard let record = try await AccountRecord.find(account.id, on: db) else { throw CommonErrors.notFound }
        guard try await hasher.verify(input.current, against: record.passwordHash) else {
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
        try await context.writeGate.transaction(on: db) { tx in
            guard let record = try await AccountRecord.find(account.id, on: tx) else { return }
            record.passwordHash = hash
            record.updatedAt = now
            try await record.save(on: tx)
            try await Self.revokeSessions(of: account.id, except: keep, now: now, on: tx)
            try await AuditLog.record("password.changed", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                                      subject: AccountService.subject(account.id), ip: ip, at: now, on: tx)
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
        let index: String
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
        let outcome = try await context.writeGate.transaction(on: db) { [self] tx in
            try await codes.check(code: input.code, destinationIndexes: [index], purpose: CodePurpose.resetPassword.rawValue, now: now, in: Store(tx, context: context))
        }
        switch outcome {
        case .wrong: throw AccountError.invalidCode
        case .expired: throw AccountError.codeExpired
        case .accepted: break
        }
        // The code was right: from here on, bad input must not waste it, so the password is
        // checked against the policy before anything is stored, and a refusal names the field.
        guard let record = try await AccountRecord.query(on: db).group(.or, { group in
            group.filter(\.$phoneIndex == index).filter(\.$emailIndex == index).filter(\.$guardianPhoneIndex == index)
        }).first(), let id = record.id else { throw AccountError.codeExpired }
        let account = try record.account(cipher: cipher)
        do throws(PasswordProblem) {
            try passwords.check(input.password, context: [account.username, account.phone, account.email].compactMap { $0 })
        } catch {
            throw AccountError.invalid(["password": error.rawValue])
        }
        let hash = try await hasher.hash(input.password)
        try await context.writeGate.transaction(on: db) { [self] tx in
            guard let record = try await AccountRecord.find(id, on: tx) else { return }
            record.passwordHash = hash
            if record.status == AccountStatus.locked.rawValue { record.status = AccountStatus.active.rawValue }
            record.updatedAt = now
            try await record.save(on: tx)
            try await Self.revokeSessions(of: id, except: nil, now: now, on: tx)
            try await Store(tx, context: context).throttles.save(AccountService.subject(id), SignInThrottle.State(), at: now)
            try await AuditLog.record("password.reset", actor: .account(id), subject: AccountService.subject(id), ip: ip,
                                      details: ["channel": input.channel], at: now, on: tx)
        }
    }

    static func revokeSessions(of accountID: UUID, except keep: UUID?, now: Date, on db: any Database) async throws {
        let sessions = try await SessionRecord.query(on: db).filter(\.$accountID == accountID).filter(\.$revokedAt == nil).all()
        for session in sessions where session.id != keep {
            session.revokedAt = now
            try await session.save(on: db)
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
        try await context.writeGate.transaction(on: db) { tx in
            guard let record = try await AccountRecord.find(account.id, on: tx) else { return }
            var changed: [String] = []
            if let displayName, displayName != record.displayName {
                record.displayName = displayName.isEmpty ? nil : displayName
                changed.append("displayName")
            }
            if let locale = patch.locale, locale != record.locale {
                record.locale = locale
                changed.append("locale")
            }
            guard !changed.isEmpty else { return }
            record.updatedAt = now
            try await record.save(on: tx)
            try await AuditLog.record("profile.changed", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                                      subject: AccountService.subject(account.id), ip: ip,
                                      details: ["fields": changed.joined(separator: ",")], at: now, on: tx)
        }
        guard let record = try await AccountRecord.find(account.id, on: db) else { throw CommonErrors.notFound }
        return try record.account(cipher: cipher)
    }
}
