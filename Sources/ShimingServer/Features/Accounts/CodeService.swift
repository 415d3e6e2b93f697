import Foundation
import ShimingCore

/// Issues and checks one-time codes. Codes are stored as keyed hashes bound to their purpose
/// and destination; limits (cooldown, daily cap, per-IP cap) are taken for every request, also
/// when nothing is sent, so that the answers reveal nothing about who is registered.
struct CodeService: Sendable {
    let policy: OneTimeCodePolicy
    let secrets: SecretHasher
    let random: any RandomSource

    /// The deployment's codes: the default policy, hashed with its key, from its randomness.
    init(context: ShimingContext) {
        policy = OneTimeCodePolicy()
        secrets = SecretHasher(keyRing: context.keyRing)
        random = context.services.random
    }

    /// The outcome of checking a code, decided inside a transaction that always commits (a
    /// wrong entry must be counted even though the request fails).
    enum Check: Sendable {
        case accepted(OneTimeCodeRecordID)
        case wrong(remaining: Int)
        case expired
    }

    struct OneTimeCodeRecordID: Sendable { let id: UUID; let destinationIndex: String }

    /// Takes one send from the destination's allowance (a pause between two, a daily cap) and
    /// one from the address's hourly cap, each in one conditional statement; 429 with the wait
    /// when either is used up (nothing is counted against the other then: the transaction of
    /// the refused request rolls back).
    func reserve(destinationIndex: String, ip: String?, now: Date, in store: Store) async throws {
        var keys = [("code:to:" + destinationIndex,
                     Allowance(cap: policy.dailyCapPerDestination, window: 24 * 3600, cooldown: policy.resendCooldown))]
        if let ip { keys.append(("code:ip:" + ip, Allowance(cap: policy.hourlyCapPerIP, window: 3600))) }
        if let refused = try await store.limits.take(keys, at: now) {
            let (key, allowance) = keys[refused]
            throw AccountError.rateLimited(seconds: try await store.limits.wait(key, allowance, at: now))
        }
    }

    /// Stores a new code for the destination and returns it in the clear (for the message).
    /// Earlier unused codes for the same destination and purpose stop working.
    func issue(
        channel: String, destinationIndex: String, purpose: String, accountID: UUID?, ip: String?,
        lifetime: TimeInterval? = nil, secret: String? = nil, now: Date, in store: Store
    ) async throws -> String {
        try await store.codes.retire(destinationIndex: destinationIndex, purpose: purpose, at: now)
        let code = secret ?? policy.generate(using: random)
        // Codes are short, so their hash binds the destination; tokens (256 bits) are looked
        // up by their hash alone, which the index on code_hash makes one probe.
        let hash = secret == nil ? secrets.hash(purpose, destinationIndex, code) : secrets.hash(purpose, "token", code)
        try await store.codes.insert(OneTimeCode(
            id: UUID(), channel: channel, destinationIndex: destinationIndex, purpose: purpose, codeHash: hash, accountID: accountID,
            expiresAt: now.addingTimeInterval(lifetime ?? policy.lifetime), attempts: 0, consumedAt: nil, createdAt: now, ip: ip
        ))
        return code
    }

    /// Records a request that sends nothing (unknown destination), so limits behave the same.
    func recordUnsent(channel: String, destinationIndex: String, purpose: String, ip: String?, now: Date, in store: Store) async throws {
        _ = try await issue(
            channel: channel, destinationIndex: destinationIndex, purpose: purpose, accountID: nil, ip: ip,
            secret: OpaqueToken.make(random), now: now, in: store
        )
    }

    /// Checks `code` against the newest live code for any of the destinations. Using the code
    /// and counting a wrong entry are each one conditional statement: of many parallel guesses
    /// exactly `maxAttempts` are counted, and a code is accepted at most once.
    func check(code: String, destinationIndexes: [String], purpose: String, now: Date, in store: Store) async throws -> Check {
        guard !destinationIndexes.isEmpty,
              let found = try await store.codes.newestUnused(destinationIndexes: destinationIndexes, purpose: purpose) else { return .expired }
        guard found.expiresAt > now, found.attempts < policy.maxAttempts else { return .expired }
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if SecretHasher.equal(secrets.hash(purpose, found.destinationIndex, trimmed), found.codeHash) {
            guard try await store.codes.consume(found.id, maxAttempts: policy.maxAttempts, at: now) else { return .expired }
            return .accepted(.init(id: found.id, destinationIndex: found.destinationIndex))
        }
        guard let attempts = try await store.codes.countWrong(found.id, maxAttempts: policy.maxAttempts) else { return .expired }
        let remaining = policy.maxAttempts - attempts
        return remaining > 0 ? .wrong(remaining: remaining) : .expired
    }

    /// Finds and consumes an activation token (e-mail link).
    func consumeToken(_ token: String, purpose: String, now: Date, in store: Store) async throws -> OneTimeCode? {
        guard let found = try await store.codes.liveToken(hash: secrets.hash(purpose, "token", token), purpose: purpose, at: now),
              try await store.codes.consume(found.id, maxAttempts: policy.maxAttempts, at: now) else { return nil }
        return found
    }
}
