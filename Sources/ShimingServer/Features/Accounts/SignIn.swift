import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Sign-in, sessions and sign-out.
extension AccountService {
    /// A login with either its password or a sign-in code sent by SMS (验证码登录).
    struct Credentials: Codable, Sendable {
        var login: String
        var password: String?
        var code: String?
    }

    /// A new session: the token is returned once and stored only as a hash.
    struct IssuedSession: Sendable {
        var token: String
        var csrfToken: String?
        var expiresAt: Date
        var account: Account
    }

    static let webSessionLifetime: TimeInterval = 12 * 3600
    static let apiSessionLifetime: TimeInterval = 30 * 24 * 3600

    /// Finds the account a login names: an e-mail address, a mobile number, or a username.
    func findAccount(login: String, on db: any Database) async throws -> AccountRecord? {
        let found = try await findAccounts(login: login, on: db)
        return found.count == 1 ? found[0] : nil
    }

    /// The accounts a login may name: by e-mail, by the account's own mobile number, by the
    /// guardian mobile number registered for students (P4; siblings share it, so there may be
    /// several), or by username.
    func findAccounts(login: String, on db: any Database) async throws -> [AccountRecord] {
        let trimmed = login.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("@"), let email = try? EmailAddress.validate(trimmed) {
            return try await AccountRecord.query(on: db).filter(\.$emailIndex == emailIndex(email)).first().map { [$0] } ?? []
        }
        if let phone = try? MobileNumber.validate(trimmed) {
            let index = phoneIndex(phone)
            if let own = try await AccountRecord.query(on: db).filter(\.$phoneIndex == index).first() { return [own] }
            let children = try await AccountRecord.query(on: db).filter(\.$guardianPhoneIndex == index)
                .filter(\.$kind == Account.Kind.applicant.rawValue).sort(\.$createdAt).limit(Self.maxGuardianAccounts).all()
            if !children.isEmpty { return children }
        }
        return try await AccountRecord.query(on: db).filter(\.$username == trimmed.lowercased()).first().map { [$0] } ?? []
    }

    /// How many students' accounts one guardian phone is tried against at sign-in.
    static let maxGuardianAccounts = 8

    /// Checks the password under the brute-force rule and opens a session. A guardian phone
    /// that several students registered with signs none of them in: once the password fits one
    /// of them, the answer asks for the username instead.
    func signIn(_ credentials: Credentials, kind: String, ip: String?) async throws -> IssuedSession {
        let password = credentials.password ?? "", code = credentials.code?.trimmingCharacters(in: .whitespaces) ?? ""
        guard password.isEmpty != code.isEmpty else {
            throw AccountError.invalid(password.isEmpty ? ["password": "required"] : ["code": "invalid_value"])
        }
        let now = self.now
        let candidates = try await findAccounts(login: credentials.login, on: db)
        let record = candidates.count == 1 ? candidates[0] : nil
        let accountKey = record?.id.map { AccountService.subject($0) }
        let ipKey = ip.map { "ip:\($0)" }

        // A lock refuses even the right password, so guessing cannot continue through it.
        for key in [accountKey, ipKey].compactMap({ $0 }) {
            if let until = throttle.lockEnd(try await Store(db, context: context).throttles.state(key), now: now) {
                throw AccountError.signInLocked(until: Self.chinaTime(until), seconds: Int(until.timeIntervalSince(now).rounded(.up)))
            }
        }

        var matches = false
        if !code.isEmpty {
            // The code sent for signing in to this phone (it names one account: see `requestCode`).
            let phone = try? MobileNumber.validate(credentials.login.trimmingCharacters(in: .whitespaces))
            if let phone, record != nil {
                let outcome = try await context.writeGate.transaction(on: db) { [self] tx in
                    try await codes.check(code: code, destinationIndexes: [phoneIndex(phone)], purpose: CodePurpose.signIn.rawValue, now: now, in: Store(tx, context: context))
                }
                if case .accepted = outcome { matches = true }
            }
        } else if candidates.count > 1 {
            for candidate in candidates where try await hasher.verify(password, against: candidate.passwordHash) {
                throw AccountError.loginAmbiguous
            }
        } else {
            matches = try await hasher.verify(password, against: record?.passwordHash ?? BcryptPasswordHasher.decoy)
        }
        guard matches, let record, let id = record.id else {
            let lockedUntil = try await context.writeGate.transaction(on: db) { [self] tx -> Date? in
                var locked: Date?
                for key in [accountKey, ipKey].compactMap({ $0 }) {
                    let state = throttle.recordFailure(try await Store(tx, context: context).throttles.state(key), now: now)
                    try await Store(tx, context: context).throttles.save(key, state, at: now)
                    if let until = throttle.lockEnd(state, now: now) { locked = max(locked ?? until, until) }
                }
                let subject = record?.id.map { AccountService.subject($0) }
                try await AuditLog.record("sign_in.failed", actor: .anonymous, subject: subject, ip: ip,
                                          details: ["reason": record == nil ? "unknown_login" : code.isEmpty ? "wrong_password" : "wrong_code"], at: now, on: tx)
                if let locked {
                    try await AuditLog.record("sign_in.locked", actor: .system, subject: subject ?? ipKey, ip: ip,
                                              details: ["until": RFC3339.string(from: locked)], at: now, on: tx)
                    if let about = subject ?? ipKey {
                        try await RiskAlertService.raise(.rateLimited, subject: about, program: nil, details: ["limit": "sign_in"], at: now, in: Store(tx, context: context))
                    }
                }
                return locked
            }
            if let lockedUntil {
                throw AccountError.signInLocked(until: Self.chinaTime(lockedUntil), seconds: Int(lockedUntil.timeIntervalSince(now).rounded(.up)))
            }
            throw code.isEmpty ? AccountError.invalidCredentials : AccountError.invalidSignInCode
        }

        let account = try record.account(cipher: cipher)
        guard account.status.maySignIn else {
            throw AccountError.accountState(account.status, reason: account.statusReason)
        }
        let token = OpaqueToken.make(codes.random)
        let csrf = kind == "web" ? OpaqueToken.make(codes.random) : nil
        let expiresAt = now.addingTimeInterval(kind == "web" ? Self.webSessionLifetime : Self.apiSessionLifetime)
        try await context.writeGate.transaction(on: db) { [self] tx in
            if let accountKey {
                try await Store(tx, context: context).throttles.save(accountKey, throttle.recordSuccess(try await Store(tx, context: context).throttles.state(accountKey)), at: now)
            }
            let session = SessionRecord()
            session.id = UUID()
            session.tokenHash = codes.secrets.hash("session", token)
            session.accountID = id
            session.kind = kind
            session.csrfToken = csrf
            session.createdAt = now
            session.expiresAt = expiresAt
            session.ip = ip
            try await session.create(on: tx)
            try await AuditLog.record("sign_in.succeeded", actor: account.kind == .staff ? .staff(id) : .account(id),
                                      subject: AccountService.subject(id), ip: ip, details: ["session": kind], at: now, on: tx)
        }
        return IssuedSession(token: token, csrfToken: csrf, expiresAt: expiresAt, account: account)
    }

    /// The account and session behind a token, if the session is live; the account's status
    /// is checked by the caller on every request.
    func authenticate(token: String) async throws -> (Account, SessionRecord)? {
        guard let session = try await SessionRecord.query(on: db)
            .filter(\.$tokenHash == codes.secrets.hash("session", token))
            .first(),
            session.revokedAt == nil, session.expiresAt > now,
            let record = try await AccountRecord.find(session.accountID, on: db) else { return nil }
        return (try record.account(cipher: cipher), session)
    }

    /// Ends a session.
    func signOut(session: SessionRecord, account: Account, ip: String?) async throws {
        let now = self.now
        let id = try session.requireID()
        try await context.writeGate.transaction(on: db) { tx in
            guard let live = try await SessionRecord.find(id, on: tx) else { return }
            live.revokedAt = now
            try await live.save(on: tx)
            try await AuditLog.record("sign_out", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                                      subject: AccountService.subject(account.id), ip: ip, at: now, on: tx)
        }
    }

    /// `2026-11-21 16:15`, Beijing time, for messages people read.
    static func chinaTime(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970) + 8 * 3600
        let day = CivilDate(unixSeconds: Int64(date.timeIntervalSince1970))  // the day in Beijing (UTC+8 by default)
        let minuteOfDay = Int((seconds % 86_400 + 86_400) % 86_400) / 60
        let hh = minuteOfDay / 60, mm = minuteOfDay % 60
        return "\(day) \(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm) (UTC+8)"
    }
}
