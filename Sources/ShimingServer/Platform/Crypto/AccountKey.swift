import Crypto
import Foundation
import NIOConcurrencyHelpers

/// One account's own data key: 32 random bytes, stored only wrapped by the master key
/// (`AccountKeys`), from which the keys for its fields and its files are derived. Everything
/// personal of that account is sealed under it, so destroying this one key makes all of it
/// unreadable wherever a copy lies, backups included.
struct AccountKey: Sendable {
    let accountID: UUID
    /// `a` and the account id's 32 hex digits, stored in front of every value sealed under it.
    let keyID: String
    let fieldKey: SymmetricKey
    let fileKey: SymmetricKey

    init(accountID: UUID, material: SymmetricKey) {
        self.accountID = accountID
        keyID = Self.keyID(of: accountID)
        fieldKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("shiming/account/field/v1".utf8), outputByteCount: 32)
        fileKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("shiming/account/file/v1".utf8), outputByteCount: 32)
    }

    /// "a" and the account id's 16 bytes in lowercase hex (taken on every read of personal
    /// data, so built from the bytes, not by editing the id's text).
    static func keyID(of account: UUID) -> String {
        withUnsafeBytes(of: account.uuid) { "a" + Hex.encode($0) }
    }

    /// The account a key id names, or nil when it is not an account key's id (the master key's
    /// ids are 8 hex digits).
    static func account(ofKeyID keyID: some StringProtocol) -> UUID? {
        guard keyID.utf8.count == 33, keyID.utf8.first == UInt8(ascii: "a"),
              let bytes = Hex.decode(String(keyID.dropFirst())), bytes.count == 16 else { return nil }
        return UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) })
    }

    /// The account key id in front of a sealed value, if it has one.
    static func account(ofSealed stored: String) -> UUID? {
        guard let dot = stored.firstIndex(of: ".") else { return nil }
        return account(ofKeyID: stored[..<dot])
    }
}

/// The account keys this process has unwrapped, by key id, bounded: two generations of at most
/// half the capacity each, so a key just loaded survives at least that many later loads and
/// memory stays flat however many accounts there are.
public final class AccountKeyCache: Sendable {
    private struct Generations {
        var current: [String: AccountKey] = [:]
        var previous: [String: AccountKey] = [:]
    }

    private let state = NIOLockedValueBox(Generations())
    private let generationSize: Int

    public init(capacity: Int = 100_000) {
        generationSize = max(1, capacity / 2)
    }

    func key(_ keyID: String) -> AccountKey? {
        state.withLockedValue { state in
            if let key = state.current[keyID] { return key }
            guard let key = state.previous[keyID] else { return nil }
            Self.insert(key, into: &state, generationSize: generationSize)
            return key
        }
    }

    func put(_ keys: [AccountKey]) {
        state.withLockedValue { state in
            for key in keys { Self.insert(key, into: &state, generationSize: generationSize) }
        }
    }

    func remove(_ keyID: String) {
        state.withLockedValue { state in
            state.current[keyID] = nil
            state.previous[keyID] = nil
        }
    }

    private static func insert(_ key: AccountKey, into state: inout Generations, generationSize: Int) {
        if state.current[key.keyID] == nil, state.current.count >= generationSize {
            state.previous = state.current
            state.current = [:]
        }
        state.current[key.keyID] = key
    }
}
