import Crypto
import Fluent
import Foundation
import ShimingCore
import SQLKit

/// The accounts' own data keys: created on first use, stored wrapped by the master key in the
/// key store (a database of its own on SQLite, `account_keys` on PostgreSQL), unwrapped into
/// the process's `AccountKeyCache`, and destroyed when the account is erased.
///
/// A key is committed before anything is sealed under it (its own statement, never inside the
/// caller's transaction), so no sealed value can outlive a rolled-back key; a key whose account
/// was never stored is merely unused.
struct AccountKeys: Sendable {
    /// The key store.
    let database: @Sendable () -> any Database
    /// Admits one writer at a time to the key store on SQLite.
    let gate: WriteGate
    let cache: AccountKeyCache
    /// The master key versions: new keys are wrapped under the current one.
    let masters: MasterKeys
    let random: any RandomSource
    let clock: any WallClock

    static func wrapContext(_ account: UUID) -> Data { Data("shiming.account-key.\(account.lowercasedText)".utf8) }

    /// Wraps a key's material under the current master key version: the wrapped text and the version's id.
    func wrap(_ material: SymmetricKey, account: UUID) throws -> (wrapped: String, masterKeyID: String) {
        let ring = masters.current
        let box = try material.withUnsafeBytes {
            try AES.GCM.seal(Data($0), using: ring.key(for: .keyWrapping), authenticating: Self.wrapContext(account))
        }
        guard let combined = box.combined else { throw FieldCipherError.malformed }
        return (combined.base64EncodedString(), ring.keyID)
    }

    /// The material of a wrapped key.
    func unwrapMaterial(_ wrapped: String, masterKeyID: String, account: UUID) throws -> SymmetricKey {
        guard let ring = masters.ring(masterKeyID) else { throw FieldCipherError.unknownKey(masterKeyID) }
        guard let combined = Data(base64Encoded: wrapped) else { throw FieldCipherError.malformed }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return SymmetricKey(data: try AES.GCM.open(box, using: ring.key(for: .keyWrapping), authenticating: Self.wrapContext(account)))
        } catch {
            throw FieldCipherError.authenticationFailed
        }
    }

    /// The account's key, created (and committed) when it has none yet.
    func key(for account: UUID) async throws -> AccountKey {
        if let key = cache.key(AccountKey.keyID(of: account)) { return key }
        try await load([account])
        if let key = cache.key(AccountKey.keyID(of: account)) { return key }
        let (wrapped, masterKeyID) = try wrap(SymmetricKey(data: random.bytes(32)), account: account)
        let now = clock.now()
        try await gate.transaction(on: database()) { db in
            // Two first uses racing: one insert wins, both then read the winner's key.
            try await db.sql().raw("""
                INSERT INTO account_keys (account_id, wrapped, master_key_id, created_at)
                VALUES (\(bind: account), \(bind: wrapped), \(bind: masterKeyID), \(bind: now))
                ON CONFLICT (account_id) DO NOTHING
                """).run()
        }
        try await load([account])
        guard let key = cache.key(AccountKey.keyID(of: account)) else { throw FieldCipherError.unknownKey(AccountKey.keyID(of: account)) }
        return key
    }

    /// `cipher`, sealing under the account's key (created and committed on first use).
    func sealing(_ cipher: FieldCipher, for account: UUID) async throws -> FieldCipher {
        cipher.sealing(for: try await key(for: account))
    }

    /// Unwraps into the cache the keys of these accounts that are not there yet (accounts
    /// without a key, or whose key was destroyed, are skipped).
    func load(_ accounts: some Collection<UUID>) async throws {
        let missing = Array(Set(accounts.filter { cache.key(AccountKey.keyID(of: $0)) == nil }))
        guard !missing.isEmpty else { return }
        let sql = try database().sql()
        for start in stride(from: 0, to: missing.count, by: 500) {
            let chunk = missing[start..<min(start + 500, missing.count)]
            let rows = try await sql.raw("""
                SELECT account_id, wrapped, master_key_id FROM account_keys WHERE account_id IN (\(binds: Array(chunk)))
                """).all()
            cache.put(try rows.map { row in
                let account = try row.decode(column: "account_id", as: UUID.self)
                return try unwrap(try row.decode(column: "wrapped", as: String.self),
                                  masterKeyID: try row.decode(column: "master_key_id", as: String.self), account: account)
            })
        }
    }

    /// Loads the account keys that sealed these values, before rows holding them are opened.
    func prepare(_ sealed: some Sequence<String?>) async throws {
        try await load(sealed.compactMap { $0.flatMap(AccountKey.account(ofSealed:)) })
    }

    /// Destroys the accounts' keys (those they still have): every value and file sealed under
    /// them becomes unreadable, here and in every copy. On SQLite the key store zeroes the
    /// deleted rows and folds its log into the file.
    func destroy(_ accounts: [UUID]) async throws {
        for account in accounts { cache.remove(AccountKey.keyID(of: account)) }
        var destroyed = 0
        for start in stride(from: 0, to: accounts.count, by: 500) {
            let chunk = Array(accounts[start..<min(start + 500, accounts.count)])
            destroyed += try await gate.transaction(on: database()) { db in
                try await SQLDialectSwitch.run(on: db, sqlite: ["PRAGMA secure_delete = ON"], postgres: [])
                return try await db.sql().raw("DELETE FROM account_keys WHERE account_id IN (\(binds: chunk)) RETURNING account_id").all().count
            }
        }
        // Again, after the delete: a request may have loaded a key between the first removal and it.
        for account in accounts { cache.remove(AccountKey.keyID(of: account)) }
        guard destroyed > 0 else { return }
        try await SQLDialectSwitch.run(on: database(), sqlite: ["PRAGMA wal_checkpoint(TRUNCATE)"], postgres: [])
    }

    /// Re-wraps up to `limit` keys wrapped under an older master key version with the current
    /// one; each is swapped only where it is still as read. Answers how many moved.
    func rewrap(limit: Int) async throws -> Int {
        let current = masters.current.keyID
        let rows = try await database().sql().raw("""
            SELECT account_id, wrapped, master_key_id FROM account_keys WHERE master_key_id <> \(bind: current) LIMIT \(bind: limit)
            """).all()
        var moved = 0
        for row in rows {
            let account = try row.decode(column: "account_id", as: UUID.self)
            let (old, version) = (try row.decode(column: "wrapped", as: String.self), try row.decode(column: "master_key_id", as: String.self))
            let (wrapped, masterKeyID) = try wrap(try unwrapMaterial(old, masterKeyID: version, account: account), account: account)
            let updated = try await gate.transaction(on: database()) { db in
                try await db.sql().raw("""
                    UPDATE account_keys SET wrapped = \(bind: wrapped), master_key_id = \(bind: masterKeyID)
                    WHERE account_id = \(bind: account) AND wrapped = \(bind: old) RETURNING account_id
                    """).first() != nil
            }
            if updated { moved += 1 }
        }
        return moved
    }

    /// How many keys are wrapped under a master key version.
    func count(under masterKeyID: String) async throws -> Int {
        let row = try await database().sql().raw("SELECT COUNT(*) AS n FROM account_keys WHERE master_key_id = \(bind: masterKeyID)").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// The accounts that have a key (for checks and tests).
    func accountsWithKeys() async throws -> [UUID] {
        try await database().sql().raw("SELECT account_id FROM account_keys").all().map { try $0.decode(column: "account_id", as: UUID.self) }
    }

    private func unwrap(_ wrapped: String, masterKeyID: String, account: UUID) throws -> AccountKey {
        AccountKey(accountID: account, material: try unwrapMaterial(wrapped, masterKeyID: masterKeyID, account: account))
    }
}
