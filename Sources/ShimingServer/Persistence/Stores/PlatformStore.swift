import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Relying platforms, their keys and the keys' rate windows.
    var platforms: PlatformStore { PlatformStore(db: database, cipher: cipher) }
}

/// Rows of `platforms` and `platform_keys` ⇄ `Platform` and `PlatformKey`. The webhook secret is
/// sealed here and opened only to sign.
struct PlatformStore: Sendable {
    let db: any Database
    let cipher: FieldCipher

    func find(_ id: UUID) async throws -> Platform? {
        try await PlatformRecord.find(id, on: db).map(Self.value)
    }

    func all() async throws -> [Platform] {
        try await PlatformRecord.query(on: db).sort(\.$createdAt, .ascending).all().map(Self.value)
    }

    func find(_ ids: [UUID]) async throws -> [UUID: Platform] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await PlatformRecord.query(on: db).filter(\.$id ~~ Array(Set(ids))).all().map(Self.value)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.id, $0) })
    }

    func insert(_ platform: Platform, secret: String) async throws {
        let record = PlatformRecord()
        record.id = platform.id
        try Self.fill(record, from: platform)
        record.webhookSecretSealed = try cipher.seal(secret, context: PlatformRecord.secretContext(platform.id))
        record.createdAt = platform.createdAt
        try await record.create(on: db)
    }

    func update(_ platform: Platform) async throws {
        guard let record = try await PlatformRecord.find(platform.id, on: db) else { throw CommonErrors.notFound }
        try Self.fill(record, from: platform)
        try await record.update(on: db)
    }

    /// The secrets that sign a webhook now: the current one, and the previous one while a
    /// rotation's overlap lasts.
    func signingSecrets(_ id: UUID, at now: Date) async throws -> [String] {
        guard let record = try await PlatformRecord.find(id, on: db) else { return [] }
        let context = PlatformRecord.secretContext(id)
        var secrets = [try cipher.open(record.webhookSecretSealed, context: context)]
        if let previous = record.previousSecretSealed, let until = record.previousSecretUntil, now < until {
            secrets.append(try cipher.open(previous, context: context))
        }
        return secrets
    }

    /// Replaces the webhook secret; the old one keeps signing until `overlapUntil`.
    func rotateSecret(_ id: UUID, to secret: String, overlapUntil: Date, at now: Date) async throws {
        guard let record = try await PlatformRecord.find(id, on: db) else { throw CommonErrors.notFound }
        let context = PlatformRecord.secretContext(id)
        record.previousSecretSealed = record.webhookSecretSealed
        record.previousSecretUntil = overlapUntil
        record.webhookSecretSealed = try cipher.seal(secret, context: context)
        record.updatedAt = now
        try await record.update(on: db)
    }

    // MARK: Keys

    func insertKey(_ key: PlatformKey, hash: String) async throws {
        let record = PlatformKeyRecord()
        record.id = key.id
        record.platformID = key.platformID
        record.keyHash = hash
        record.prefix = key.prefix
        record.createdAt = key.createdAt
        try await record.create(on: db)
    }

    func keys(of platform: UUID) async throws -> [PlatformKey] {
        try await PlatformKeyRecord.query(on: db).filter(\.$platformID == platform).sort(\.$createdAt, .ascending).all().map(Self.value)
    }

    /// The unrevoked key with this hash and its platform, in one statement (every call of a
    /// platform starts here).
    func liveKey(hash: String) async throws -> (PlatformKey, Platform)? {
        guard let row = try await db.sql().raw("""
            SELECT k.id AS key_id, k.prefix, k.created_at AS key_created_at, k.last_used_at, k.revoked_at,
            p.id, p.name, p.purpose, p.redirect_uris, p.webhook_url, p.programs, p.claims, p.created_at, p.updated_at
            FROM platform_keys k JOIN platforms p ON p.id = k.platform_id
            WHERE k.key_hash = \(bind: hash) AND k.revoked_at IS NULL
            LIMIT 1
            """).first() else { return nil }
        let platform = Platform(
            id: try row.value("id"), name: try row.value("name"), purpose: try row.value("purpose"),
            redirectURIs: StoredJSON.list(try row.value("redirect_uris")), webhookURL: try row.value("webhook_url"),
            programs: StoredJSON.list(try row.value("programs")),
            claims: StoredJSON.list(try row.value("claims")).compactMap(PlatformClaim.init(rawValue:)),
            createdAt: try row.value("created_at"), updatedAt: try row.value("updated_at"))
        let key = PlatformKey(id: try row.value("key_id"), platformID: platform.id, prefix: try row.value("prefix"),
                              createdAt: try row.value("key_created_at"), lastUsedAt: try row.value("last_used_at"),
                              revokedAt: try row.value("revoked_at"))
        return (key, platform)
    }

    /// Revokes a key of the platform in one conditional statement; false when it is not the
    /// platform's or already revoked.
    func revokeKey(_ id: UUID, of platform: UUID, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE platform_keys SET revoked_at = \(bind: now)
            WHERE id = \(bind: id) AND platform_id = \(bind: platform) AND revoked_at IS NULL
            RETURNING id
            """).first() != nil
    }

    /// Notes the key's use, at most once a minute (one conditional statement, no read).
    func touchKey(_ id: UUID, at now: Date) async throws {
        try await db.sql().raw("""
            UPDATE platform_keys SET last_used_at = \(bind: now)
            WHERE id = \(bind: id) AND (last_used_at IS NULL OR last_used_at < \(bind: now.addingTimeInterval(-60)))
            """).run()
    }

    /// Counts one call in the key's current window and returns the count so far, in one
    /// statement (two callers at once each get their own number).
    func countCall(key: UUID, window: Int64) async throws -> Int {
        let row = try await db.sql().raw("""
            INSERT INTO platform_rate_windows (key_id, window_start, count) VALUES (\(bind: key), \(bind: window), 1)
            ON CONFLICT (key_id, window_start) DO UPDATE SET count = platform_rate_windows.count + 1
            RETURNING count
            """).first()
        return try row?.decode(column: "count", as: Int.self) ?? 1
    }

    /// Counts `calls` calls of the key in its window at once if the count stays within
    /// `allowance` (one conditional statement): the count after them, or nil, with nothing
    /// counted, when they would pass it. The verification queries count a batch's calls so.
    func countCalls(key: UUID, window: Int64, calls: Int, allowance: Int) async throws -> Int? {
        // (A window's first calls are inserted without the condition.)
        guard calls <= allowance else { return nil }
        return try await db.sql().raw("""
            INSERT INTO platform_rate_windows (key_id, window_start, count) VALUES (\(bind: key), \(bind: window), \(bind: calls))
            ON CONFLICT (key_id, window_start) DO UPDATE SET count = platform_rate_windows.count + EXCLUDED.count
            WHERE platform_rate_windows.count + EXCLUDED.count <= \(bind: allowance)
            RETURNING count
            """).first()?.decode(column: "count", as: Int.self)
    }

    /// Drops rate windows that ended before `window`.
    func pruneWindows(before window: Int64) async throws {
        try await db.sql().raw("DELETE FROM platform_rate_windows WHERE window_start < \(bind: window)").run()
    }

    // MARK: Mapping

    private static func fill(_ record: PlatformRecord, from platform: Platform) throws {
        record.name = platform.name
        record.purpose = platform.purpose
        record.redirectURIs = try StoredJSON.text(platform.redirectURIs)
        record.webhookURL = platform.webhookURL
        record.programs = try StoredJSON.text(platform.programs)
        record.claims = try StoredJSON.text(platform.claims.map(\.rawValue))
        record.updatedAt = platform.updatedAt
    }

    static func value(_ record: PlatformRecord) throws -> Platform {
        Platform(
            id: try record.requireID(), name: record.name, purpose: record.purpose,
            redirectURIs: StoredJSON.list(record.redirectURIs), webhookURL: record.webhookURL,
            programs: StoredJSON.list(record.programs), claims: StoredJSON.list(record.claims).compactMap(PlatformClaim.init(rawValue:)),
            createdAt: record.createdAt, updatedAt: record.updatedAt
        )
    }

    static func value(_ record: PlatformKeyRecord) throws -> PlatformKey {
        PlatformKey(id: try record.requireID(), platformID: record.platformID, prefix: record.prefix, createdAt: record.createdAt,
                    lastUsedAt: record.lastUsedAt, revokedAt: record.revokedAt)
    }
}
