import Crypto
import Foundation
import ShimingCore

/// Encrypts personal data for storage: AES-256-GCM with a fresh nonce per value, the key id
/// stored beside the ciphertext, and the column's name bound in as associated data so that a
/// ciphertext copied into another column (or row kind) does not decrypt.
///
/// Stored form: `<keyID>.<base64(nonce ‖ ciphertext ‖ tag)>`. The key is the master key's field
/// subkey (data of no one person: platform secrets, the school roll) or one account's own data
/// key (`a<account id>`, see `AccountKeys`); a cipher seals under one of them (`sealing(for:)`)
/// and opens with either, the account keys coming from the cache the stores fill before
/// mapping rows (`AccountKeys.prepare`).
public struct FieldCipher: Sendable {
    private let keyID: String
    private let key: SymmetricKey
    /// The master key's id (values under it are not yet, or never, any one person's).
    let masterKeyID: String
    private let masterKey: SymmetricKey
    let accountKeys: AccountKeyCache

    /// Creates a cipher with the field-encryption subkey of a key ring.
    public init(keyRing: KeyRing, purpose: KeyPurpose = .fieldEncryption, accountKeys: AccountKeyCache = AccountKeyCache()) {
        keyID = keyRing.keyID
        key = keyRing.key(for: purpose)
        masterKeyID = keyID
        masterKey = key
        self.accountKeys = accountKeys
    }

    private init(sealingWith accountKey: AccountKey, from cipher: FieldCipher) {
        keyID = accountKey.keyID
        key = accountKey.fieldKey
        masterKeyID = cipher.masterKeyID
        masterKey = cipher.masterKey
        accountKeys = cipher.accountKeys
    }

    /// The same cipher sealing under one account's data key: what it seals becomes unreadable
    /// everywhere, backups included, once that key is destroyed.
    func sealing(for accountKey: AccountKey) -> FieldCipher {
        FieldCipher(sealingWith: accountKey, from: self)
    }

    /// The id of the key this cipher seals under.
    var sealingKeyID: String { keyID }

    /// Whether a stored value was sealed under the master key (not yet under an account's key).
    func isUnderMasterKey(_ stored: String) -> Bool {
        stored.hasPrefix(masterKeyID + ".")
    }

    /// Encrypts bytes for the named context (e.g. `account.phone`).
    public func seal(_ plaintext: Data, context: String) throws -> String {
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
        guard let dot = stored.firstIndex(of: ".") else { throw FieldCipherError.malformed }
        let storedKeyID = stored[..<dot]
        let key: SymmetricKey
        if storedKeyID == masterKeyID {
            key = masterKey
        } else if let accountKey = accountKeys.key(String(storedKeyID)) {
            key = accountKey.fieldKey
        } else {
            throw FieldCipherError.unknownKey(String(storedKeyID))
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
public struct BlindIndex: Sendable {
    private let key: SymmetricKey

    /// Creates an index with the blind-index subkey of a key ring.
    public init(keyRing: KeyRing) {
        key = keyRing.key(for: .blindIndex)
    }

    /// The hex index of a value within a domain (e.g. `resident_id`); the domain keeps equal
    /// strings of different kinds apart.
    public func index(_ value: String, domain: String) -> String {
        indexer(domain: domain).index(value)
    }

    /// An index function for one domain with the key and the domain already absorbed, for
    /// indexing many values (a roster's million numbers) without redoing that work each time.
    public func indexer(domain: String) -> Indexer {
        var base = HMAC<SHA256>(key: key)
        base.update(data: Data((domain + "\u{1F}").utf8))
        return Indexer(base: base)
    }

    public struct Indexer {
        let base: HMAC<SHA256>

        public func index(_ value: String) -> String {
            var mac = base
            var value = value
            value.withUTF8 { mac.update(data: UnsafeRawBufferPointer($0)) }
            return Hex.encode(mac.finalize())
        }
    }
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
