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

    private struct PlatformCallCountedKey: StorageKey {
        typealias Value = Bool
    }

    /// Set by an operation of a route that counts platform calls itself, once it is reached:
    /// from then on the operation counts the call. A refusal before it (a guard or a check in
    /// front of the handler) is counted by the middleware instead.
    var platformCallCountedByOperation: Bool {
        get { storage[PlatformCallCountedKey.self] ?? false }
        set { storage[PlatformCallCountedKey.self] = newValue }
    }

    /// The calling platform; 401 when the call carries no valid key.
    func requirePlatform() throws -> PlatformCaller {
        guard let caller = platformCaller else { throw HTTPFailure.error(for: .unauthorized) }
        return caller
    }
}

extension Route {
    static let countsPlatformCallsKey = "shiming.platform.counts-calls"

    /// Whether the route's operation counts a platform key's call itself, in the transaction
    /// it writes anyway (`PlatformService.countCall`), so the middleware does not.
    var countsPlatformCalls: Bool { userInfo[Route.countsPlatformCallsKey] as? Bool ?? false }

    /// Marks the route as counting platform calls in its operation.
    @discardableResult
    func countingPlatformCalls() -> Route {
        userInfo[Route.countsPlatformCallsKey] = true
        return self
    }
}

/// Recognises `Authorization: Bearer sk_live_…` on every request and counts the call against
/// the key's per-minute allowance (429 with `Retry-After` past it), unless the route's operation
/// counts it in its own transaction. An unknown or revoked key is 401 at once: a platform should
/// learn its key is wrong, not be treated as anonymous.
struct PlatformAuthenticator: AsyncMiddleware {
    let platforms: PlatformService

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        if let token = request.headers.bearerToken, token.hasPrefix(PlatformService.keyPrefix) {
            guard let (platform, key) = try await platforms.authenticate(apiKey: token) else {
                throw UserFacingError(code: "invalid_api_key", kind: .unauthenticated,
                                      message: LocalizedText("API 密钥无效或已吊销。", "The API key is unknown or revoked."))
            }
            if request.route?.countsPlatformCalls != true { try await platforms.admitCall(key) }
            request.platformCaller = .init(platform: platform, key: key)
            // Successful calls are audited by the operation; refused ones (a probe of unknown
            // subjects, a route the key may not call) are audited here.
            do {
                let response = try await next.respond(to: request)
                if (400..<500).contains(response.status.code) { try await auditRefused(request, status: response.status.code) }
                return response
            } catch let error as any AbortError where (400..<500).contains(error.status.code) && error.status != .tooManyRequests {
                try await auditRefused(request, status: error.status.code)
                throw error
            } catch let error as UserFacingError {
                // Refusals (4xx) are audited; a rate limit is not (it would write for every
                // call of a flood), nor is an overloaded or failing server (5xx).
                let status = error.kind.status.code
                if (400..<500).contains(status), status != 429 { try await auditRefused(request, status: status) }
                throw error
            }
        }
        return try await next.respond(to: request)
    }

    private func auditRefused(_ request: Request, status: UInt) async throws {
        guard let caller = request.platformCaller else { return }
        // Refused before the operation that would have counted it: counted here, so refusals
        // cannot be made (and audited) past the allowance.
        if request.route?.countsPlatformCalls == true, !request.platformCallCountedByOperation {
            try await platforms.admitCall(caller.key)
        }
        let route = request.route.map { "/" + $0.path.map(\.description).joined(separator: "/") } ?? "unknown"
        try await platforms.auditRefused(platform: caller.platform, key: caller.key, method: request.method.rawValue, route: route, status: Int(status), ip: request.clientIP)
    }
}
