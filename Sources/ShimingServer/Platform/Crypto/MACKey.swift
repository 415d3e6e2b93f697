import Crypto
import Foundation

/// An HMAC-SHA256 key with its pads hashed once: each code under it starts from a copy of that
/// state instead of setting the key up again (two hash blocks and their buffers), which the
/// hot paths did for every audit event and every token they hashed.
public struct MACKey: Sendable {
    public let key: SymmetricKey
    private let keyed: HMAC<SHA256>

    public init(_ key: SymmetricKey) {
        self.key = key
        keyed = HMAC<SHA256>(key: key)
    }

    /// A fresh authenticator under the key, ready for `update` (its own copy of the state).
    func authenticator() -> HMAC<SHA256> { keyed }

    /// The code of `bytes` under the key; the same as `HMAC<SHA256>.authenticationCode(for:using:)`.
    func code(_ bytes: some DataProtocol) -> HashedAuthenticationCode<SHA256> {
        var mac = keyed
        mac.update(data: bytes)
        return mac.finalize()
    }
}
