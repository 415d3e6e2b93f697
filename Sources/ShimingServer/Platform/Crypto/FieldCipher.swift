import Crypto
import Foundation
import ShimingCore

/// Encrypts personal data for storage: AES-256-GCM with a fresh nonce per value, the key id
/// stored beside the ciphertext, and the column's name bound in as associated data so that a
/// ciphertext copied into another column (or row kind) does not decrypt.
///
/// Stored form: `<keyID>.<base64(nonce ‖ ciphertext ‖ tag)>`. The key is a master key version's
/// field subkey (data of no one person: platform secrets, the school roll; new values under the
/// current version) or one account's own data key (`a<account id>`, see `AccountKeys`); a
/// cipher seals under one of them (`sealing(for:)`) and opens with any, the account keys coming
/// from the cache the stores fill before mapping rows (`AccountKeys.prepare`).
public struct FieldCipher: Sendable {
    /// The account key this cipher seals under; nil: the current master key version.
    private let accountKey: AccountKey?
    let masters: MasterKeys
    let accountKeys: AccountKeyCache

    /// Creates a cipher over the master key versions.
    init(masters: MasterKeys, accountKeys: AccountKeyCache = AccountKeyCache()) {
        accountKey = nil
        self.masters = masters
        self.accountKeys = accountKeys
    }

    /// Creates a cipher with the field-encryption subkey of one key ring.
    public init(keyRing: KeyRing, accountKeys: AccountKeyCache = AccountKeyCache()) {
        self.init(masters: MasterKeys(ring: keyRing.masterKey), accountKeys: accountKeys)
    }

    private init(sealingWith accountKey: AccountKey, from cipher: FieldCipher) {
        self.accountKey = accountKey
        masters = cipher.masters
        accountKeys = cipher.accountKeys
    }

    /// The same cipher sealing under one account's data key: what it seals becomes unreadable
    /// everywhere, backups included, once that key is destroyed.
    func sealing(for accountKey: AccountKey) -> FieldCipher {
        FieldCipher(sealingWith: accountKey, from: self)
    }

    /// The key id and key new values are sealed under.
    private var sealingKey: (id: String, key: SymmetricKey) {
        if let accountKey { return (accountKey.keyID, accountKey.fieldKey) }
        let ring = masters.current
        return (ring.keyID, ring.key(for: .fieldEncryption))
    }

    /// The current master key version's id.
    var masterKeyID: String { masters.current.keyID }

    /// Whether a stored value was sealed under a master key version (not under an account's
    /// key): master key ids are 8 hex digits, account key ids 33 characters.
    func isUnderMasterKey(_ stored: String) -> Bool {
        guard let dot = stored.utf8.firstIndex(of: UInt8(ascii: ".")) else { return false }
        return stored.utf8.distance(from: stored.startIndex, to: dot) == 8
    }

    /// Encrypts bytes for the named context (e.g. `account.phone`).
    public func seal(_ plaintext: Data, context: String) throws -> String {
        let (keyID, key) = sealingKey
        let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw FieldCipherError.malformed }
        return keyID + "." + combined.base64EncodedString()
    }

    /// Encrypts a string for the named context.
    public func seal(_ plaintext: String, context: String) throws -> String {
        try seal(Data(plaintext.utf8), context: context)
    }

    /// Decrypts bytes sealed for the named context.
    public func openData(_ stored: String, context: String) throws -> Data {
        // By its bytes: `String.firstIndex(of:)` walks characters.
        guard let dot = stored.utf8.firstIndex(of: UInt8(ascii: ".")) else { throw FieldCipherError.malformed }
        let storedKeyID = String(stored[..<dot])
        let key: SymmetricKey
        if let accountKey = accountKeys.key(storedKeyID) {
            key = accountKey.fieldKey
        } else if storedKeyID.utf8.count == 8, let masterKey = masters.fieldKey(storedKeyID) {
            key = masterKey
        } else {
            throw FieldCipherError.unknownKey(storedKeyID)
        }
        guard let combined = Data(base64Encoded: String(stored[stored.index(after: dot)...])) else {
            throw FieldCipherError.malformed
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
        } catch {
            throw FieldCipherError.authenticationFailed
        }
    }

    /// Decrypts a string sealed for the named context.
    public func open(_ stored: String, context: String) throws -> String {
        guard let text = String(data: try openData(stored, context: context), encoding: .utf8) else {
            throw FieldCipherError.malformed
        }
        return text
    }
}

/// Why a stored value could not be decrypted.
public enum FieldCipherError: Error, Equatable, Sendable {
    /// Not in the stored form.
    case malformed
    /// Sealed with a key this deployment does not hold.
    case unknownKey(String)
    /// Tampered with, or sealed for another context.
    case authenticationFailed
}

/// An HMAC-SHA256 "blind index" of a normalised value: equal inputs give equal indexes, so
/// "is this number already used?" is an indexed lookup, while the index reveals nothing about
/// the value without the key.
///
/// The key follows the key file: `keys reindex` puts a new index key in and keeps the previous
/// one (`previous blind-index`) while it recomputes every stored index; meanwhile rows are
/// written with the new key's index and lookups accept either (`IndexProbe`).
public struct BlindIndex: Sendable {
    private let keys: @Sendable () -> IndexKeys

    /// The index keys: the current one, and the previous one while a re-index runs.
    struct IndexKeys: Sendable {
        var current: SymmetricKey
        var previous: SymmetricKey?
    }

    /// An index following the key file's versions.
    init(masters: MasterKeys) {
        keys = { masters.indexKeys }
    }

    /// An index with the blind-index subkey of one key ring.
    public init(keyRing: KeyRing) {
        let fixed = IndexKeys(current: keyRing.key(for: .blindIndex))
        keys = { fixed }
    }

    /// The index of a value within a domain (e.g. `resident_id`); the domain keeps equal
    /// strings of different kinds apart.
    func index(_ value: String, domain: String) -> IndexProbe {
        let keys = keys()
        let stored = Indexer(key: keys.current, domain: domain).index(value)
        guard let previous = keys.previous else { return IndexProbe(stored: stored, accepted: [stored]) }
        return IndexProbe(stored: stored, accepted: [stored, Indexer(key: previous, domain: domain).index(value)])
    }

    /// An index function for one domain with the key and the domain already absorbed, for
    /// indexing many values (a roster's million numbers) without redoing that work each time.
    public func indexer(domain: String) -> Indexer {
        Indexer(key: keys().current, domain: domain)
    }

    /// Whether a re-index runs: stored rows may hold either key's index.
    var isReindexing: Bool { keys().previous != nil }

    /// The previous key's index function while a re-index runs.
    func previousIndexer(domain: String) -> Indexer? {
        keys().previous.map { Indexer(key: $0, domain: domain) }
    }

    public struct Indexer: Sendable {
        let base: HMAC<SHA256>

        init(key: SymmetricKey, domain: String) {
            var base = HMAC<SHA256>(key: key)
            base.update(data: Data((domain + "\u{1F}").utf8))
            self.base = base
        }

        public func index(_ value: String) -> String {
            var mac = base
            var value = value
            value.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
            return Hex.encode(mac.finalize())
        }

        /// The index's first 16 bytes, as compact rows store it (128 bits keep equal values
        /// apart as surely as 256 for any roll's size; the hex form is its first 32 digits).
        public func shortIndex(_ value: String) -> [UInt8] {
            var mac = base
            var value = value
            value.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
            return Array(mac.finalize().prefix(16))
        }
    }
}

/// A value's blind index as rows store it and as lookups accept it.
struct IndexProbe: Sendable, Hashable {
    /// What a row stores: the index under the current key.
    let stored: String
    /// What a lookup accepts: the stored form and, while a re-index runs, the previous key's.
    let accepted: [String]

    /// Whether a stored index is this value's.
    func matches(_ index: String?) -> Bool { index.map(accepted.contains) ?? false }
}

/// Lower-case hex of bytes, without a formatter per byte (blind indexes are computed for every
/// line of a million-row roster).
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
