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
        /// For the web: the device cookie that marks this browser as the owner's from now on.
        var deviceToken: String? = nil
    }

    static let webSessionLifetime: TimeInterval = 12 * 3600
    static let apiSessionLifetime: TimeInterval = 30 * 24 * 3600

    /// Finds the account a login names: an e-mail address, a mobile number, or a username.
    func findAccount(login: String) async throws -> Account? {
        let found = try await findAccounts(login: login, in: store)
        return found.count == 1 ? found[0] : nil
    }

    /// The accounts a login may name: by e-mail, by the account's own mobile number, by the
    /// guardian mobile number registered for students (P4; siblings share it, so there may be
    /// several), or by username.
    func findAccounts(login: String, in store: Store) async throws -> [Account] {
        let trimmed = login.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("@"), let email = try? EmailAddress.validate(trimmed) {
            return try await store.accounts.withEmail(emailIndex(email)).map { [$0] } ?? []
        }
        if let phone = try? MobileNumber.validate(trimmed) {
            let index = phoneIndex(phone)
            if let own = try await store.accounts.withPhone(index) { return [own] }
            let children = try await store.accounts.withGuardianPhone(index, applicantsOnly: true, newestFirst: false, limit: Self.maxGuardianAccounts)
            if !children.isEmpty { return children }
        }
        return try await store.accounts.withUsername(trimmed.lowercased()).map { [$0] } ?? []
    }

    /// How many students' accounts one guardian phone is tried against at sign-in.
    static let maxGuardianAccounts = 8

    /// Checks the password under the brute-force rules (NIST SP 800-63B §5.2.2) and opens a
    /// session. Failures are counted per (account, place) — the place being a device the owner
    /// signed in from before, else the client address — which locks after five; per address,
    /// which locks after thirty; and per account, which only slows (it never locks, so nobody can
    /// lock the owner out, and a known device is not slowed at all). An unknown login is counted
    /// under its own key exactly like an account, so the answers do not tell which logins exist.
    /// Each attempt is counted before its password is checked, under a row lock, so parallel
    /// guesses cannot outrun the count. A guardian phone that several students registered with
    /// signs none of them in: once the password fits one of them, the answer asks for the username.
    func signIn(_ credentials: Credentials, kind: String, ip: String?, device: String? = nil) async throws -> IssuedSession {
        let password = credentials.password ?? "", code = credentials.code?.trimmingCharacters(in: .whitespaces) ?? ""
        guard password.isEmpty != code.isEmpty else {
            throw AccountError.invalid(password.isEmpty ? ["password": "required"] : ["code": "invalid_value"])
        }
        let now = self.now
        let store = store
        let candidates = try await findAccounts(login: credentials.login, in: store)
        let found = candidates.count == 1 ? candidates[0] : nil
        let keys = SignInKeys(
            account: found.map { AccountService.subject($0.id) } ?? "login:" + codes.secrets.hash("login", credentials.login.trimmingCharacters(in: .whitespaces).lowercased()).prefix(32),
            device: found.flatMap { account in device.flatMap { DeviceToken.deviceID($0, account: account.id, secrets: codes.secrets) } },
            ip: ip
        )
        try await reserveAttempt(keys, at: now)

        var matches = false
        if !code.isEmpty {
            // The code sent for signing in to this phone (it names one account: see `requestCode`).
            let phone = try? MobileNumber.validate(credentials.login.trimmingCharacters(in: .whitespaces))
            if let phone, found != nil {
                let outcome = try await store.transaction { [self] tx in
                    try await codes.check(code: code, destinationIndexes: phoneIndex(phone).accepted, purpose: CodePurpose.signIn.rawValue, now: now, in: tx)
                }
                if case .accepted = outcome { matches = true }
            }
        } else if candidates.count > 1 {
            let decoy = try await hasher.decoy()
            for candidate in candidates where try await hasher.verify(password, against: store.accounts.passwordHash(of: candidate.id) ?? decoy) {
                try await attemptSucceeded(keys, at: now)
                throw AccountError.loginAmbiguous
            }
        } else {
            var hash: String?
            if let found { hash = try await store.accounts.passwordHash(of: found.id) }
            let checked = if let hash { hash } else { try await hasher.decoy() }
            matches = try await hasher.verify(password, against: checked)
        }
        guard matches, let account = found else {
            let lockedUntil = try await store.transaction { [self] tx -> Date? in
                let locked = [try await tx.throttles.state(keys.pair), try await keys.ipKey.asyncMap { try await tx.throttles.state($0) }]
                    .compactMap { $0.flatMap { throttle.lockEnd($0, now: now) } }.max()
                try await tx.audit("sign_in.failed", actor: .anonymous, subject: found.map { AccountService.subject($0.id) }, ip: ip,
                                   details: ["reason": found == nil ? "unknown_login" : code.isEmpty ? "wrong_password" : "wrong_code"], at: now)
                if let locked {
                    try await tx.audit("sign_in.locked", actor: .system, subject: found.map { AccountService.subject($0.id) } ?? keys.ipKey, ip: ip,
                                       details: ["until": RFC3339.string(from: locked)], at: now)
                    if let about = found.map({ AccountService.subject($0.id) }) ?? keys.ipKey {
                        try await RiskAlertService.raise(.rateLimited, subject: about, program: nil, details: ["limit": "sign_in"], at: now, in: tx)
                    }
                }
                return locked
            }
            if let lockedUntil {
                throw AccountError.signInLocked(until: ChinaTime.minute(lockedUntil), seconds: Int(lockedUntil.timeIntervalSince(now).rounded(.up)))
            }
            throw code.isEmpty ? AccountError.invalidCredentials : AccountError.invalidSignInCode
        }

        let id = account.id
        guard account.status.maySignIn else {
            throw AccountError.accountState(account.status, reason: account.statusReason)
        }
        let token = OpaqueToken.make(codes.random)
        let csrf = kind == "web" ? OpaqueToken.make(codes.random) : nil
        // Staff tokens live as long as a working day's web session, whatever the client.
        let expiresAt = now.addingTimeInterval(kind == "web" || account.kind == .staff ? Self.webSessionLifetime : Self.apiSessionLifetime)
        let deviceToken = kind == "web" ? (keys.device.map { _ in device } ?? DeviceToken.make(account: id, secrets: codes.secrets, random: codes.random)) : nil
        try await store.transaction { [self] tx in
            try await attemptSucceeded(keys, at: now, in: tx)
            let session = Session(id: UUID(), accountID: id, kind: kind, csrfToken: csrf, createdAt: now, expiresAt: expiresAt, ip: ip)
            try await tx.sessions.insert(session, tokenHash: codes.secrets.hash("session", token))
            try await tx.audit("sign_in.succeeded", actor: account.kind == .staff ? .staff(id) : .account(id),
                               subject: AccountService.subject(id), ip: ip, details: ["session": kind], at: now)
            // Signing in within the grace period cancels a deletion the person asked for.
            if account.deletionDueAt != nil, try await tx.erasure.setDeletionDue(id, at: nil) {
                try await DeletionService.cancelled(account, ip: ip, at: now, in: tx)
            }
        }
        return IssuedSession(token: token, csrfToken: csrf, expiresAt: expiresAt, account: account, deviceToken: deviceToken ?? nil)
    }

    /// The account and session behind a token, if the session is live; the account's status
    /// is checked by the caller on every request. A lookup is reused briefly (`ShimingContext.sessions`).
    func authenticate(token: String) async throws -> (Account, Session)? {
        let (tokenHash, now, cache, changes) = (codes.secrets.hash("session", token), now, context.sessions, context.writeGate.changes)
        if let found = cache.find(tokenHash, at: now, stamp: changes, usable: { $0.1.expiresAt > now }) { return found }
        guard let found = try await store.accounts.withSession(tokenHash: tokenHash, at: now) else { return nil }
        cache.keep(found, for: tokenHash, at: now, stamp: changes)
        return found
    }

    /// Ends a session.
    func signOut(session: Session, account: Account, ip: String?) async throws {
        let now = self.now
        try await store.transaction { tx in
            try await tx.sessions.revoke(session.id, at: now)
            try await tx.audit("sign_out", actor: account.kind == .staff ? .staff(account.id) : .account(account.id),
                               subject: AccountService.subject(account.id), ip: ip, at: now)
        }
    }
}
