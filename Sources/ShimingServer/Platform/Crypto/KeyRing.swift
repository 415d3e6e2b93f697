import Crypto
import Foundation

/// What a derived key is used for. Each purpose gets its own HKDF subkey, so a key that leaks
/// from one use (say, the blind index) says nothing about another (field encryption).
public enum KeyPurpose: String, Sendable, CaseIterable {
    /// AES-256-GCM for personal data in database columns.
    case fieldEncryption = "shiming/field-encryption/v1"
    /// AES-256-GCM for stored document files.
    case fileEncryption = "shiming/file-encryption/v1"
    /// HMAC-SHA256 blind indexes for equality lookups on encrypted values.
    case blindIndex = "shiming/blind-index/v1"
    /// HMAC-SHA256 for one-time codes and tokens stored as hashes.
    case secretHashing = "shiming/secret-hashing/v1"
    /// HMAC-SHA256 for the pairwise subject identifiers relying platforms see.
    case pairwiseSubject = "shiming/pairwise-subject/v1"
    /// HMAC-SHA256 for the audit chain and its signed checkpoints.
    case auditChain = "shiming/audit-chain/v1"
    /// AES-256-GCM wrapping the accounts' own data keys (`AccountKeys`).
    case keyWrapping = "shiming/key-wrapping/v1"

    /// The purposes whose subkeys are HMAC keys used on hot paths (kept set up in `KeyRing`).
    static let macPurposes: [KeyPurpose] = [.secretHashing, .pairwiseSubject, .auditChain]
}

/// The master key and the purpose-specific subkeys derived from it.
public struct KeyRing: Sendable {
    /// A short, stable identifier of the master key, stored beside every ciphertext so that
    /// keys can rotate.
    public let keyID: String
    /// The master key version itself (for the key file and the tools).
    let masterKey: SymmetricKey
    private var subkeys: [KeyPurpose: SymmetricKey]
    /// The subkeys of the purposes that are HMAC keys, set up once (`MACKey`).
    private var macKeys: [KeyPurpose: MACKey] = [:]

    /// Derives every subkey from a 32-byte master key, but takes the `pinned` ones as given
    /// (the keys that stay when the master key changes: see `KeyFile`).
    init(masterKey: SymmetricKey, pinned: [KeyPurpose: SymmetricKey]) {
        self.init(masterKey: masterKey)
        for (purpose, key) in pinned {
            subkeys[purpose] = key
            if macKeys[purpose] != nil { macKeys[purpose] = MACKey(key) }
        }
    }

    /// Derives every subkey from a 32-byte master key.
    public init(masterKey: SymmetricKey) {
        precondition(masterKey.bitCount == 256, "the master key must be 32 bytes")
        self.masterKey = masterKey
        let fingerprint = SHA256.hash(data: masterKey.withUnsafeBytes { Data("shiming-key-id".utf8) + Data($0) })
        keyID = fingerprint.prefix(4).map { String(format: "%02x", $0) }.joined()
        var subkeys: [KeyPurpose: SymmetricKey] = [:]
        for purpose in KeyPurpose.allCases {
            subkeys[purpose] = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: masterKey,
                salt: Data("shiming".utf8),
                info: Data(purpose.rawValue.utf8),
                outputByteCount: 32
            )
        }
        self.subkeys = subkeys
        for purpose in KeyPurpose.macPurposes { macKeys[purpose] = MACKey(subkeys[purpose]!) }
    }

    /// The subkey for one purpose.
    public func key(for purpose: KeyPurpose) -> SymmetricKey {
        subkeys[purpose]!  // every purpose is derived in init
    }

    /// The subkey of an HMAC purpose, set up for computing codes.
    public func macKey(for purpose: KeyPurpose) -> MACKey {
        macKeys[purpose] ?? MACKey(key(for: purpose))
    }
}
