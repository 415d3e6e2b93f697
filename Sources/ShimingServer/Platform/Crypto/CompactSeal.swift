import Crypto
import Foundation

/// Sealing many small values that belong to no one person (a school roll's lines) as bytes
/// rather than text: `0x01`, the master key version's id (4 bytes), the nonce (12), the
/// ciphertext and the tag (16) — 33 bytes beside the value, where the text form spends a
/// third more on base64. The associated data binds each value to its place, as `seal` does.
extension FieldCipher {
    /// Seals under one master key version, taken once for many values.
    struct BinarySealer: Sendable {
        let keyID: [UInt8]
        let key: SymmetricKey

        /// Seals `plaintext` with a nonce of 12 random bytes the caller drew (in bulk, from the
        /// injected random source).
        func seal(_ plaintext: [UInt8], nonce: ArraySlice<UInt8>, authenticating context: [UInt8]) throws -> [UInt8] {
            let box = try AES.GCM.seal(plaintext, using: key, nonce: try AES.GCM.Nonce(data: nonce), authenticating: context)
            var out: [UInt8] = [FieldCipher.binaryVersion]
            out.reserveCapacity(1 + keyID.count + 12 + plaintext.count + 16)
            out += keyID
            out += nonce
            out += box.ciphertext
            out += box.tag
            return out
        }
    }

    static let binaryVersion: UInt8 = 1

    /// The `position`-th 12-byte nonce of many drawn at once.
    static func nonce(_ position: Int, of nonces: [UInt8]) -> ArraySlice<UInt8> {
        nonces[(position * 12)..<(position * 12 + 12)]
    }

    /// A sealer under the current master key version.
    func binarySealer() -> BinarySealer {
        let ring = masters.current
        return BinarySealer(keyID: Self.binaryKeyID(ring.keyID), key: ring.key(for: .fieldEncryption))
    }

    /// A master key version's id as the binary form stores it (its 8 hex digits as 4 bytes).
    static func binaryKeyID(_ keyID: String) -> [UInt8] {
        Hex.decode(keyID) ?? Array(keyID.utf8)
    }

    /// The key version id of a value in the binary form (nil: not that form).
    static func binaryKeyIDOf<Bytes: Collection>(_ stored: Bytes) -> String? where Bytes.Element == UInt8 {
        guard stored.count >= 33, stored.first == binaryVersion else { return nil }
        return Hex.encode(stored.dropFirst().prefix(4))
    }

    /// Opens a value in the binary form sealed for `context`.
    func openBinary(_ stored: [UInt8], authenticating context: [UInt8]) throws -> [UInt8] {
        guard let keyID = Self.binaryKeyIDOf(stored) else { throw FieldCipherError.malformed }
        guard let key = masters.fieldKey(keyID) else { throw FieldCipherError.unknownKey(keyID) }
        do {
            let box = try AES.GCM.SealedBox(nonce: try AES.GCM.Nonce(data: stored[5..<17]), ciphertext: stored[17..<(stored.count - 16)],
                                            tag: stored[(stored.count - 16)...])
            return Array(try AES.GCM.open(box, using: key, authenticating: context))
        } catch {
            throw FieldCipherError.authenticationFailed
        }
    }
}

extension Hex {
    /// The value of a lower- or upper-case hex digit (nil: not one).
    static func digit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Bytes of lower- or upper-case hex (nil: not hex of whole bytes).
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        for i in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = Hex.digit(utf8[i]), let low = Hex.digit(utf8[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }
}
