import Fluent
import Foundation
import ShimingCore

/// Issues and checks one-time codes. Codes are stored as keyed hashes bound to their purpose
/// and destination; limits (cooldown, daily cap, per-IP cap) count rows, which are written
/// even when nothing is sent, so that the answers reveal nothing about who is registered.
struct CodeService: Sendable {
    let policy: OneTimeCodePolicy
    let secrets: SecretHasher
    let random: any RandomSource

    /// The outcome of checking a code, decided inside a transaction that always commits (a
    /// wrong entry must be counted even though the request fails).
    enum Check: Sendable {
        case accepted(OneTimeCodeRecordID)
        case wrong(remaining: Int)
        case expired
    }

    struct OneTimeCodeRecordID: Sendable { let id: UUID; let destinationIndex: String }

    /// Enforces the limits for a destination and an IP address; throws 429 with the wait.
    func checkLimits(destinationIndex: String, ip: String?, now: Date, on db: any Database) async throws {
        if let last = try await OneTimeCodeRecord.query(on: db)
            .filter(\.$destinationIndex == destinationIndex)
            .sort(\.$createdAt, .descending).first() {
            let wait = policy.resendCooldown - now.timeIntervalSince(last.createdAt)
            if wait > 0 { throw AccountError.rateLimited(seconds: Int(wait.rounded(.up))) }
        }
        let dayAgo = now.addingTimeInterval(-24 * 3600)
        let today = try await OneTimeCodeRecord.query(on: db)
            .filter(\.$destinationIndex == destinationIndex)
            .filter(\.$createdAt > dayAgo)
            .sort(\.$createdAt, .ascending).all()
        if today.count >= policy.dailyCapPerDestination, let oldest = today.first {
            throw AccountError.rateLimited(seconds: Int(oldest.createdAt.addingTimeInterval(24 * 3600).timeIntervalSince(now).rounded(.up)))
        }
        if let ip {
            let hourAgo = now.addingTimeInterval(-3600)
            let count = try await OneTimeCodeRecord.query(on: db).filter(\.$ip == ip).filter(\.$createdAt > hourAgo).count()
            if count >= policy.hourlyCapPerIP { throw AccountError.rateLimited(seconds: 3600) }
        }
    }

    /// Stores a new code for the destination and returns it in the clear (for the message).
    /// Earlier unused codes for the same destination and purpose stop working.
    func issue(
        channel: String, destinationIndex: String, purpose: String, accountID: UUID?, ip: String?,
        lifetime: TimeInterval? = nil, secret: String? = nil, now: Date, on db: any Database
    ) async throws -> String {
        try await OneTimeCodeRecord.query(on: db)
            .filter(\.$destinationIndex == destinationIndex)
            .filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil)
            .set(\.$consumedAt, to: now)
            .update()
        let code = secret ?? policy.generate(using: random)
        let record = OneTimeCodeRecord()
        record.id = UUID()
        record.channel = channel
        record.destinationIndex = destinationIndex
        record.purpose = purpose
        // Codes are short, so their hash binds the destination; tokens (256 bits) are looked
        // up by their hash alone, which the index on code_hash makes one probe.
        record.codeHash = secret == nil ? secrets.hash(purpose, destinationIndex, code) : secrets.hash(purpose, "token", code)
        record.accountID = accountID
        record.expiresAt = now.addingTimeInterval(lifetime ?? policy.lifetime)
        record.attempts = 0
        record.createdAt = now
        record.ip = ip
        try await record.create(on: db)
        return code
    }

    /// Records a request that sends nothing (unknown destination), so limits behave the same.
    func recordUnsent(channel: String, destinationIndex: String, purpose: String, ip: String?, now: Date, on db: any Database) async throws {
        _ = try await issue(
            channel: channel, destinationIndex: destinationIndex, purpose: purpose, accountID: nil, ip: ip,
            secret: OpaqueToken.make(random), now: now, on: db
        )
    }

    /// Checks `code` against the newest live code for any of the destinations.
    func check(code: String, destinationIndexes: [String], purpose: String, now: Date, on db: any Database) async throws -> Check {
        guard !destinationIndexes.isEmpty, let record = try await OneTimeCodeRecord.query(on: db)
            .filter(\.$destinationIndex ~~ destinationIndexes)
            .filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil)
            .sort(\.$createdAt, .descending).first() else { return .expired }
        guard record.expiresAt > now, record.attempts < policy.maxAttempts else { return .expired }
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if SecretHasher.equal(secrets.hash(purpose, record.destinationIndex, trimmed), record.codeHash) {
            record.consumedAt = now
            try await record.save(on: db)
            return .accepted(.init(id: try record.requireID(), destinationIndex: record.destinationIndex))
        }
        record.attempts += 1
        try await record.save(on: db)
        let remaining = policy.maxAttempts - record.attempts
        return remaining > 0 ? .wrong(remaining: remaining) : .expired
    }

    /// Finds and consumes an activation token (e-mail link).
    func consumeToken(_ token: String, purpose: String, now: Date, on db: any Database) async throws -> OneTimeCodeRecord? {
        guard let record = try await OneTimeCodeRecord.query(on: db)
            .filter(\.$codeHash == secrets.hash(purpose, "token", token))
            .filter(\.$purpose == purpose)
            .filter(\.$consumedAt == nil)
            .filter(\.$expiresAt > now)
            .first() else { return nil }
        record.consumedAt = now
        try await record.save(on: db)
        return record
    }
}
