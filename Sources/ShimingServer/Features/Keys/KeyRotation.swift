import Crypto
import Foundation
import ShimingCore

/// Rotating the master key (`shiming keys rotate`, `keys retire`): a new version goes first in
/// the key file and becomes current at once (running servers re-read the file within a second);
/// then, batch by batch, personal data still under the master key moves to its owners' keys,
/// the accounts' keys are re-wrapped and what belongs to no one person is re-sealed under the new
/// version. An older version is retired only once nothing lies under it; its field key stays in
/// the file for what audit events sealed under it (they cannot be rewritten). The keys that must
/// never change — the audit chain's, the platforms' pairwise subjects', the secret hashes' and
/// the blind index's — are pinned in the file and carried over.
struct KeyRotationService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let migration: KeyMigrationService

    var store: Store { stores() }
    var masters: MasterKeys { context.masterKeys }
    var now: Date { context.services.clock.now() }

    static let needsFile = UserFacingError(
        code: "key_not_in_file", kind: .conflict,
        message: LocalizedText("主密钥直接写在环境变量里，无法在运行中轮换；请改用密钥文件（SHIMING_ENCRYPTION_KEY_FILE）。",
                               "The master key is given inline; rotating needs it in a key file (SHIMING_ENCRYPTION_KEY_FILE)."))

    /// One master key version and what still lies under it.
    struct Version: Sendable, Equatable {
        var keyID: String
        var current: Bool
        var accountKeys: Int
        var values: Int
        /// Files and decisions' words.
        var other: Int
        var inUse: Bool { accountKeys + values + other > 0 }
    }

    /// Every version in the key file, current first, with what lies under it.
    func versions() async throws -> [Version] {
        var versions: [Version] = []
        for (position, ring) in masters.all.enumerated() {
            var values = 0
            for column in SealedColumn.personal + SealedColumn.shared {
                values += try await store.keyMigration.count(column, under: ring.keyID)
            }
            values += try await store.roster.count(under: ring.keyID)
            versions.append(Version(keyID: ring.keyID, current: position == 0, accountKeys: try await context.accountKeys.count(under: ring.keyID),
                                    values: values, other: try await store.keyMigration.filesAndDecisions(under: ring.keyID)))
        }
        return versions
    }

    /// Makes a new master key version, current at once; answers its id. The data moves with
    /// `step` (the command runs it to the end, the sweep a batch a minute).
    func rotate(ip: String? = nil) async throws -> String {
        guard let path = masters.path else { throw Self.needsFile }
        let previous = masters.current.keyID
        let key = SymmetricKey(data: context.services.random.bytes(32))
        try masters.rewrite(path) { $0.masters.insert(key, at: 0) }
        let current = masters.current.keyID
        try await store.auditAlone("keys.rotated", actor: .system, subject: "keys", ip: ip, details: ["from": previous, "to": current], at: now)
        return current
    }

    /// What one batch moved.
    struct Progress: Sendable, Equatable {
        var moved = 0
        var rewrapped = 0
        var resealed = 0
        var isEmpty: Bool { moved + rewrapped + resealed == 0 }
    }

    /// Moves up to `limit` of what lies under older versions: personal data to its owners'
    /// keys, account keys re-wrapped, the rest re-sealed under the current version.
    func step(limit: Int) async throws -> Progress {
        var progress = Progress()
        let migrated = try await migration.step(limit: limit)
        progress.moved = migrated.moved + migrated.files
        progress.rewrapped = try await context.accountKeys.rewrap(limit: limit)
        var budget = limit
        for column in SealedColumn.personal + SealedColumn.shared where budget > 0 {
            let (moved, _) = try await KeyMigrationService.pages(of: column, budget: budget, in: store) { tx, column, after, page in
                try await tx.keyMigration.reseal(column, after: after, limit: page)
            }
            progress.resealed += moved
            budget -= moved
        }
        var cursor: Int64?
        while budget > 0 {
            let (moved, next) = try await resealRoster(after: cursor, limit: min(budget, 200))
            progress.resealed += moved
            budget -= moved
            cursor = next
            if cursor == nil { break }
        }
        return progress
    }

    /// Re-seals under the current version up to `limit` roll lines after `cursor` that lie under
    /// an older one, each only where the line still holds what was read; answers how many
    /// moved and where to go on (nil: none left). A line that does not open is left as it is.
    func resealRoster(after cursor: Int64?, limit: Int) async throws -> (moved: Int, cursor: Int64?) {
        let random = context.services.random
        return try await store.transaction { tx in
            let cipher = tx.roster.cipher
            let sealer = cipher.binarySealer()
            let lines = try await tx.roster.stored(after: cursor, limit: limit, notUnder: cipher.masterKeyID)
            let nonces = random.bytes(12 * lines.count)
            var moved = 0
            for (position, line) in lines.enumerated() {
                guard let fields = try? cipher.openBinary(line.data, authenticating: line.context) else { continue }
                let sealed = try sealer.seal(fields, nonce: FieldCipher.nonce(position, of: nonces), authenticating: line.context)
                if try await tx.roster.replace(line, index: line.index, data: sealed) { moved += 1 }
            }
            return (moved, lines.count < limit ? nil : lines.last?.id)
        }
    }

    /// Whether there is an older version whose data may still need moving.
    var hasOlderVersions: Bool { masters.all.count > 1 }

    /// Retires an older version once nothing lies under it: it leaves the key file, and only its
    /// field key stays, for the values audit events sealed under it.
    func retire(_ keyID: String, ip: String? = nil) async throws {
        guard let path = masters.path else { throw Self.needsFile }
        guard let version = try await versions().first(where: { $0.keyID == keyID }) else {
            throw UserFacingError(code: "unknown_key", kind: .notFound, message: LocalizedText("没有这个主密钥版本。", "There is no master key version \(keyID)."))
        }
        guard !version.current else {
            throw UserFacingError(code: "key_current", kind: .conflict,
                                  message: LocalizedText("当前主密钥不能停用，请先轮换。", "The current master key cannot be retired; rotate first."))
        }
        guard !version.inUse else {
            throw UserFacingError(code: "key_in_use", kind: .conflict, message: LocalizedText(
                "仍有数据使用这个版本：\(version.accountKeys) 个账户密钥、\(version.values) 个字段、\(version.other) 个文件或决定。请先运行 `shiming keys rotate --resume`。",
                "Data still lies under this version: \(version.accountKeys) account keys, \(version.values) values, \(version.other) files or decisions. Run `shiming keys rotate --resume` first."))
        }
        guard let ring = masters.ring(keyID) else { return }
        try masters.rewrite(path) { file in
            file.masters.removeAll { KeyRing(masterKey: $0).keyID == keyID }
            file.retired[keyID] = ring.key(for: .fieldEncryption)
        }
        try await store.auditAlone("keys.retired", actor: .system, subject: "keys", ip: ip, details: ["key": keyID], at: now)
    }
}
