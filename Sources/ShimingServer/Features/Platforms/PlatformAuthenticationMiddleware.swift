import Foundation
import ShimingCore
import Vapor

extension Request {
    private struct PlatformCallerKey: StorageKey {
        typealias Value = PlatformCaller
    }

    /// A relying platform calling with one of its keys.
    struct PlatformCaller: Sendable {
        var platform: Platform
        var key: PlatformKey
    }

    var platformCaller: PlatformCaller? {
        get { storage[PlatformCallerKey.self] }
        set { storage[PlatformCallerKey.self] = newValue }
    }

    /// The calling platform; 401 when the call carries no valid key.
    func requirePlatform() throws -> PlatformCaller {
        guard let caller = platformCaller else { throw HTTPFailure.error(for: .unauthorized) }
        return caller
    }
}

/// Recognises `Authorization: Bearer sk_live_…` on every request and counts the call against
/// the key's per-minute allowance (429 with `Retry-After` past it). An unknown or revoked key is
/// 401 at once: a platform should learn its key is wrong, not be treated as anonymous.
struct PlatformAuthenticator: AsyncMiddleware {
    let platforms: PlatformService

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let token = request.headers.bearerAuthorization?.token, token.hasPrefix(PlatformService.keyPrefix) {
            guard let (platform, key) = try await platforms.authenticate(apiKey: token) else {
                throw UserFacingError(code: "invalid_api_key", kind: .unauthenticated,
                                      message: LocalizedText("API 密钥无效或已吊销。", "The API key is unknown or revoked."))
            }
            try await platforms.admitCall(key)
            request.platformCaller = .init(platform: platform, key: key)
        }
        return try await next.respond(to: request)
    }
}
