import Crypto
import Foundation
import ShimingCore

/// Keyed hashing of one-time codes and tokens: they are never stored in the clear, and the
/// hash is useless without the deployment's key (a 6-digit code alone could be brute-forced
/// from a plain SHA-256).
struct SecretHasher: Sendable {
    let key: MACKey

    init(keyRing: KeyRing) {
        key = keyRing.macKey(for: .secretHashing)
    }

    /// Hex HMAC-SHA256 of the parts, separated unambiguously.
    func hash(_ parts: String...) -> String {
        var message = parts.joined(separator: "\u{1F}")
        return message.withUTF8 { Hex.encode(key.code(UnsafeRawBufferPointer($0))) }
    }

    /// Compares two hex digests in constant time.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

/// A random opaque token (sessions, activation links): 32 bytes, base64url without padding.
enum OpaqueToken {
    static func make(_ random: any RandomSource) -> String {
        Data(random.bytes(32)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
