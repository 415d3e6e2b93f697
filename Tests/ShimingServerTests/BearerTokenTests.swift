import NIOHTTP1
import Testing
import Vapor
@testable import ShimingServer

/// `bearerToken` stands in for Vapor's `bearerAuthorization?.token` in the authenticators.
@Suite("Bearer tokens")
struct BearerTokenTests {
    @Test("the token is Vapor's bearerAuthorization token for every form of the header: spaces around and between, any case of the scheme, other schemes, one word, three words, none, non-ASCII")
    func sameAsVapors() {
        let values = ["Bearer abc", "bearer shm_live_1.x", "BEARER abc", "BeArEr abc", "  Bearer   abc  ", "Bearer", "Bearer ", "Bearer  ", " Bearer",
                      "Bearer a b", "Basic abc", "Bearerabc", "", " ", "Bearer\tabc", "Bearer 令牌", "Bearér abc", "xearer abc", "Bearer abc ",
                      "Bearer=abc", "B abc", "Bearers abc", "\u{0130}earer abc"]
        for value in values {
            let headers = HTTPHeaders([("Authorization", value)])
            #expect(headers.bearerToken == headers.bearerAuthorization?.token, "\(value)")
        }
        #expect(HTTPHeaders().bearerToken == nil)
        #expect(HTTPHeaders([("Authorization", "Bearer abc")]).bearerToken == "abc")
        #expect(HTTPHeaders([("Authorization", "  bearer   abc  ")]).bearerToken == "abc")
        #expect(HTTPHeaders([("Authorization", "Basic abc")]).bearerToken == nil)
    }
}
