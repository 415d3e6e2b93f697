import NIOHTTP1
import Vapor

extension HTTPHeaders {
    /// The token of an `Authorization: Bearer <token>` header: what Vapor's
    /// `bearerAuthorization?.token` answers (two words apart by spaces, the first `bearer` in
    /// any case), read without splitting the header into an array and lowercasing its first word.
    /// The authenticators ask for it on every request that carries a token.
    var bearerToken: String? {
        guard let header = first(name: .authorization) else { return nil }
        let bytes = header.utf8
        let space = UInt8(ascii: " ")
        guard let schemeStart = bytes.firstIndex(where: { $0 != space }),
              let schemeEnd = bytes[schemeStart...].firstIndex(of: space),
              let tokenStart = bytes[schemeEnd...].firstIndex(where: { $0 != space }) else { return nil }
        let tokenEnd = bytes[tokenStart...].firstIndex(of: space) ?? bytes.endIndex
        guard bytes[tokenEnd...].allSatisfy({ $0 == space }),
              bytes[schemeStart..<schemeEnd].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        return String(header[tokenStart..<tokenEnd])
    }
}
