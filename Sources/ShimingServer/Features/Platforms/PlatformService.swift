import Foundation
import ShimingCore

/// Registering relying platforms and their keys (admins), recognising a key on each call, and
/// limiting each key's rate. Keys are `sk_live_` and 32 random bytes; only their keyed hash is
/// stored, and they are shown once. Every change is audited.
struct PlatformService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    var secrets: SecretHasher { SecretHasher(keyRing: context.keyRing) }

    static let keyPrefix = "sk_live_"
    static let secretPrefix = "whsec_"
    /// How long a replaced webhook secret keeps signing (both signatures are sent meanwhile).
    static let secretOverlap: TimeInterval = 24 * 3600

    static func subject(_ id: UUID) -> String { "platform:\(id.lowercasedText)" }

    /// What an admin registers (`POST /api/v1/admin/platforms`).
    struct Registration: Codable, Sendable {
        var name: String
        var purpose: String?
        var redirectUris: [String]
        var webhookUrl: String?
        var programs: [String]
        var claims: [String]
    }

    /// A change to a platform (`PATCH`): only the fields given change; `webhookUrl: ""` removes it.
    struct Change: Codable, Sendable {
        var name: String?
        var purpose: String?
        var redirectUris: [String]?
        var webhookUrl: String?
        var programs: [String]?
        var claims: [String]?
    }

    /// A new platform with the secrets shown this once.
    struct Registered: Sendable {
        var platform: Platform
        var key: PlatformKey
        var apiKey: String
        var webhookSecret: String
    }

    // MARK: Admin

    func register(_ input: Registration, staff: Account, ip: String?) async throws -> Registered {
        let now = now
        let checked = try validate(name: input.name, purpose: input.purpose, redirectURIs: input.redirectUris, webhookURL: input.webhookUrl,
                                   programs: input.programs, claims: input.claims)
        let platform = Platform(id: UUID(), name: checked.name, purpose: checked.purpose, redirectURIs: checked.redirectURIs,
                                webhookURL: checked.webhookURL, programs: checked.programs, claims: checked.claims, createdAt: now, updatedAt: now)
        let secret = Self.secretPrefix + OpaqueToken.make(context.services.random)
        let (key, apiKey) = makeKey(for: platform.id, at: now)
        try await store.transaction { [secrets] tx in
            try await tx.platforms.insert(platform, secret: secret)
            try await tx.platforms.insertKey(key, hash: secrets.hash("platform_key", apiKey))
            try await tx.audit("platform.registered", actor: .staff(staff.id), subject: Self.subject(platform.id), ip: ip,
                               details: ["name": platform.name, "programs": platform.programs.joined(separator: ","),
                                         "claims": platform.claims.map(\.rawValue).joined(separator: ","), "key": key.id.lowercasedText],
                               at: now)
        }
        return Registered(platform: platform, key: key, apiKey: apiKey, webhookSecret: secret)
    }

    func list() async throws -> [Platform] {
        try await store.platforms.all()
    }

    func find(_ id: UUID) async throws -> Platform {
        guard let platform = try await store.platforms.find(id) else { throw CommonErrors.notFound }
        return platform
    }

    func keys(of id: UUID) async throws -> [PlatformKey] {
        try await store.platforms.keys(of: id)
    }

    func update(_ id: UUID, _ change: Change, staff: Account, ip: String?) async throws -> Platform {
        var platform = try await find(id)
        let webhook: String? = change.webhookUrl.map { $0.isEmpty ? nil : $0 } ?? platform.webhookURL
        let checked = try validate(name: change.name ?? platform.name, purpose: change.purpose ?? platform.purpose,
                                   redirectURIs: change.redirectUris ?? platform.redirectURIs, webhookURL: webhook,
                                   programs: change.programs ?? platform.programs, claims: change.claims ?? platform.claims.map(\.rawValue))
        platform.name = checked.name
        platform.purpose = checked.purpose
        platform.redirectURIs = checked.redirectURIs
        platform.webhookURL = checked.webhookURL
        platform.programs = checked.programs
        platform.claims = checked.claims
        platform.updatedAt = now
        try await store.transaction { [platform, now] tx in
            try await tx.platforms.update(platform)
            try await tx.audit("platform.updated", actor: .staff(staff.id), subject: Self.subject(id), ip: ip,
                               details: ["fields": Self.changedFields(change).joined(separator: ",")], at: now)
        }
        context.platformKeys.forgetAll()
        return platform
    }

    /// A further key (for rotation); the earlier ones keep working until revoked.
    func addKey(to id: UUID, staff: Account, ip: String?) async throws -> (PlatformKey, String) {
        _ = try await find(id)
        let now = now
        let (key, apiKey) = makeKey(for: id, at: now)
        try await store.transaction { [secrets] tx in
            try await tx.platforms.insertKey(key, hash: secrets.hash("platform_key", apiKey))
            try await tx.audit("platform.key_added", actor: .staff(staff.id), subject: Self.subject(id), ip: ip,
                               details: ["key": key.id.lowercasedText, "prefix": key.prefix], at: now)
        }
        context.platformKeys.forgetAll()
        return (key, apiKey)
    }

    func revokeKey(_ keyID: UUID, of id: UUID, staff: Account, ip: String?) async throws {
        let now = now
        try await store.transaction { tx in
            guard try await tx.platforms.revokeKey(keyID, of: id, at: now) else { throw CommonErrors.notFound }
            try await tx.audit("platform.key_revoked", actor: .staff(staff.id), subject: Self.subject(id), ip: ip,
                               details: ["key": keyID.lowercasedText], at: now)
        }
        context.platformKeys.forgetAll()
    }

    /// A new webhook secret, shown once; the old one keeps signing for a day beside it.
    func rotateSecret(of id: UUID, staff: Account, ip: String?) async throws -> String {
        _ = try await find(id)
        let now = now
        let secret = Self.secretPrefix + OpaqueToken.make(context.services.random)
        try await store.transaction { tx in
            try await tx.platforms.rotateSecret(id, to: secret, overlapUntil: now.addingTimeInterval(Self.secretOverlap), at: now)
            try await tx.audit("platform.secret_rotated", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, at: now)
        }
        return secret
    }

    /// The platform's webhook deliveries, newest first.
    func deliveries(of id: UUID, limit: Int = 100) async throws -> [OutboxEntry] {
        try await store.outbox.list(platform: id, limit: limit)
    }

    /// Sends a delivery again now (the same delivery id: the receiver deduplicates by it).
    func redeliver(_ delivery: UUID, of id: UUID, staff: Account, ip: String?) async throws {
        let now = now
        try await store.transaction { tx in
            guard try await tx.outbox.requeue(delivery, platform: id, at: now) else { throw CommonErrors.notFound }
            try await tx.audit("platform.webhook_redelivered", actor: .staff(staff.id), subject: Self.subject(id), ip: ip,
                               details: ["delivery": delivery.lowercasedText], at: now)
        }
    }

    // MARK: Keys at work

    /// The platform and key an `sk_live_…` token names, or nil for an unknown or revoked key.
    func authenticate(apiKey: String) async throws -> (Platform, PlatformKey)? {
        guard apiKey.hasPrefix(Self.keyPrefix), apiKey.utf8.count < 200 else { return nil }
        let (hash, now, cache) = (secrets.hash("platform_key", apiKey), now, context.platformKeys)
        if let (key, platform) = cache.find(hash, at: now) { return (platform, key) }
        let changes = cache.changes
        guard let found = try await store.platforms.liveKey(hash: hash) else { return nil }
        cache.keep(found, for: hash, at: now, changes: changes)
        return (found.1, found.0)
    }

    /// Counts the call against the key's per-minute allowance; 429 with the seconds until the
    /// next minute once it is used up. The first call of a minute also notes when the key was
    /// last used (so the key's "last used" is to the minute, and costs no write of its own).
    func admitCall(_ key: PlatformKey) async throws {
        let (now, allowance) = (now, context.configuration.platformRatePerMinute)
        try await store.transaction { tx in try await Self.countCall(key, in: tx, at: now, allowance: allowance) }
    }

    /// Counts a call of the key inside `tx` (an operation that writes anyway counts its call in
    /// its own transaction, one commit instead of two); past the allowance it throws 429, and
    /// the transaction's rollback takes the count back (the window stays full).
    static func countCall(_ key: PlatformKey, in tx: Store, at now: Date, allowance: Int) async throws {
        try await admit(try await tx.platforms.countCall(key: key.id, window: window(now)), key: key, in: tx, at: now, allowance: allowance)
    }

    /// The per-minute window a call at `now` counts in.
    static func window(_ now: Date) -> Int64 { Int64(now.timeIntervalSince1970) / 60 }

    /// What follows counting the `count`th call of its minute: the first notes the key's use
    /// (and every tenth minute drops old windows); past the allowance 429.
    static func admit(_ count: Int, key: PlatformKey, in tx: Store, at now: Date, allowance: Int) async throws {
        if count == 1 { try await firstCall(of: key.id, in: tx, at: now) }
        guard count <= allowance else { throw rateLimited(at: now) }
    }

    /// The first call of a key in its minute: notes the key's use, and every tenth minute drops
    /// old windows.
    static func firstCall(of key: UUID, in tx: Store, at now: Date) async throws {
        let window = window(now)
        try await tx.platforms.touchKey(key, at: now)
        if window % 10 == 0 { try await tx.platforms.pruneWindows(before: window - 1) }
    }

    /// The refusal of a call past its key's allowance: 429, until the minute ends.
    static func rateLimited(at now: Date) -> UserFacingError {
        let seconds = Int(60 - Int64(now.timeIntervalSince1970) % 60)
        return UserFacingError(code: "rate_limited", kind: .rateLimited(retryAfterSeconds: max(1, seconds)),
                               message: LocalizedText("调用过于频繁，请稍后再试。", "Too many calls with this key; try again shortly."))
    }

    /// A refused call of a platform, in the audit log (which route, which status, which key).
    func auditRefused(platform: Platform, key: PlatformKey, method: String, route: String, status: Int, ip: String?) async throws {
        try await store.auditAlone("platform.call_refused", actor: .platform(platform.id), subject: Self.subject(platform.id), ip: ip,
                                   details: ["key": key.id.lowercasedText, "route": "\(method) \(route)", "status": String(status)],
                                   at: now)
    }

    /// The secrets that sign the platform's webhooks now.
    func signingSecrets(_ id: UUID, at now: Date) async throws -> [String] {
        try await store.platforms.signingSecrets(id, at: now)
    }

    // MARK: Helpers

    private func makeKey(for platform: UUID, at now: Date) -> (PlatformKey, String) {
        let apiKey = Self.keyPrefix + OpaqueToken.make(context.services.random)
        let key = PlatformKey(id: UUID(), platformID: platform, prefix: String(apiKey.prefix(Self.keyPrefix.count + 6)), createdAt: now)
        return (key, apiKey)
    }

    private static func changedFields(_ change: Change) -> [String] {
        [("name", change.name != nil), ("purpose", change.purpose != nil), ("redirectUris", change.redirectUris != nil),
         ("webhookUrl", change.webhookUrl != nil), ("programs", change.programs != nil), ("claims", change.claims != nil)]
            .filter(\.1).map(\.0)
    }
}
