import Foundation
import ShimingCore

/// The throttle keys of one sign-in attempt.
struct SignInKeys: Sendable {
    /// `account:<id>`, or `login:<keyed hash>` for a login no account has.
    var account: String
    /// The device id, when the browser brought a valid device cookie for this account.
    var device: String?
    var ip: String?

    /// The place the attempt comes from: the owner's known device, else the address.
    var place: String { device.map { "device:" + $0 } ?? "ip:" + (ip ?? "-") }
    var pair: String { "pair:\(account)|\(place)" }
    var ipKey: String? { ip.map { "ip:" + $0 } }
    /// Every per-place key of an account starts with this.
    static func pairPrefix(_ account: String) -> String { "pair:\(account)|" }
}

extension AccountService {
    /// Drops sign-in and code counters two days after their last use (never a running lock),
    /// so that the rows an attacker spraying from many addresses leaves behind do not pile up;
    /// one audit event per batch. Run by the minute sweep.
    func pruneCounters() async throws -> Int {
        let now = now
        let cutoff = now.addingTimeInterval(-2 * 86_400)
        return try await store.transaction { tx in
            let pruned = try await tx.limits.prune(before: cutoff) + tx.throttles.prune(before: cutoff, now: now)
            if pruned > 0 {
                try await tx.audit("counters.pruned", actor: .system, subject: "counters", details: ["rows": String(pruned)], at: now)
            }
            return pruned
        }
    }

    /// Failures from one address (many people may share it) before it is locked.
    static let addressThrottle = SignInThrottle(maxFailures: 30)

    /// Refuses the attempt while its place or address is locked, or while the account is slowed
    /// (not from a known device); otherwise counts it as a failure now, under row locks, before
    /// the password is checked.
    func reserveAttempt(_ keys: SignInKeys, at now: Date) async throws {
        enum Refusal: Error { case locked(Date), slowed(TimeInterval) }
        let refusal = try await store.transaction { [self] tx -> Refusal? in
            let pair = try await tx.throttles.lockedState(keys.pair, at: now)
            let address = try await keys.ipKey.asyncMap { try await tx.throttles.lockedState($0, at: now) }
            let account = try await tx.throttles.lockedState(keys.account, at: now)
            if let until = [throttle.lockEnd(pair, now: now), address.flatMap { Self.addressThrottle.lockEnd($0, now: now) }].compactMap({ $0 }).max() {
                return .locked(until)
            }
            if keys.device == nil, let wait = slowdown.wait(account, now: now) { return .slowed(wait) }
            try await tx.throttles.save(keys.pair, throttle.recordFailure(pair, now: now), at: now)
            if let key = keys.ipKey, let address { try await tx.throttles.save(key, Self.addressThrottle.recordFailure(address, now: now), at: now) }
            try await tx.throttles.save(keys.account, slowdown.recordFailure(account, now: now), at: now)
            return nil
        }
        switch refusal {
        case .locked(let until)?:
            throw AccountError.signInLocked(until: ChinaTime.minute(until), seconds: Int(until.timeIntervalSince(now).rounded(.up)))
        case .slowed(let wait)?:
            throw AccountError.rateLimited(seconds: Int(wait.rounded(.up)))
        case nil:
            return
        }
    }

    /// The attempt was right: its place and its account start afresh; the address only loses
    /// this attempt's failure (the others behind it keep theirs).
    func attemptSucceeded(_ keys: SignInKeys, at now: Date, in tx: Store? = nil) async throws {
        let run: @Sendable (Store) async throws -> Void = { [throttle, slowdown] tx in
            try await tx.throttles.save(keys.pair, throttle.recordSuccess(try await tx.throttles.lockedState(keys.pair, at: now), attempt: now), at: now)
            try await tx.throttles.save(keys.account, slowdown.recordSuccess(try await tx.throttles.lockedState(keys.account, at: now)), at: now)
            if let key = keys.ipKey {
                try await tx.throttles.save(key, Self.addressThrottle.undoFailure(try await tx.throttles.lockedState(key, at: now), attempt: now), at: now)
            }
        }
        if let tx { try await run(tx) } else { try await store.transaction(run) }
    }

    /// The sign-in lock of an account as staff see it: the latest lock of any of its places.
    func signInLock(of id: UUID, in store: Store, at now: Date) async throws -> (until: Date?, failures: Int) {
        let places = try await store.throttles.states(prefix: SignInKeys.pairPrefix(AccountService.subject(id)))
        let account = try await store.throttles.state(AccountService.subject(id))
        return (places.compactMap { throttle.lockEnd($0, now: now) }.max(), account.failures.count)
    }

    /// Forgets an account's sign-in failures and locks, everywhere (an unlock, a password reset).
    func clearSignInThrottles(of id: UUID, in tx: Store) async throws {
        try await tx.throttles.clear(AccountService.subject(id))
        try await tx.throttles.clear(prefix: SignInKeys.pairPrefix(AccountService.subject(id)))
    }
}

extension SignInSlowdown {
    /// A right password ends the slowing down.
    func recordSuccess(_ state: SignInThrottle.State) -> SignInThrottle.State {
        var state = state
        state.failures = []
        return state
    }
}

extension Optional where Wrapped: Sendable {
    /// `map` with an async transform.
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}

/// The device cookie: `<device id>.<keyed hash of account and device>`, set at a web sign-in.
/// Presented again for the same account, it marks the owner's browser: that place has its own
/// throttle and is never slowed by failures elsewhere.
enum DeviceToken {
    static let cookie = "shiming_device"

    static func make(account: UUID, secrets: SecretHasher, random: any RandomSource) -> String {
        let device = OpaqueToken.make(random).prefix(22)
        return "\(device).\(secrets.hash("device", account.lowercasedText, String(device)).prefix(32))"
    }

    /// The device id, when the token is valid for this account.
    static func deviceID(_ token: String, account: UUID, secrets: SecretHasher) -> String? {
        let parts = token.split(separator: ".")
        guard parts.count == 2, parts[0].count == 22, token.count < 100 else { return nil }
        let expected = secrets.hash("device", account.lowercasedText, String(parts[0])).prefix(32)
        return SecretHasher.equal(String(parts[1]), String(expected)) ? String(parts[0]) : nil
    }
}
