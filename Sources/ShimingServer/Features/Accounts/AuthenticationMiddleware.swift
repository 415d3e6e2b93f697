import Fluent
import NIOCore
import ShimingCore
import Vapor

/// Who may call a route. Declared with each route's documentation, enforced by `AccessGuard`,
/// walked by the role × endpoint matrix test.
public enum Access: Sendable, Equatable {
    /// Anyone, signed in or not.
    case everyone
    /// Any signed-in account whose status allows acting.
    case signedIn
    /// Any signed-in account, a frozen one or one whose contact is not confirmed yet too: what
    /// such a holder may still do — read their account and cases, appeal, send feedback, sign out.
    case holder
    /// Staff with one of these roles.
    case staff(Set<StaffRole>)
    /// A relying platform calling with its API key (`Authorization: Bearer sk_live_…`); no
    /// account may call these, and a key may call nothing else.
    case platform
}

extension Access {
    /// Lets a signed-in account through, or throws why not: a locked or closed account (a
    /// frozen one too, unless frozen holders may use the route) → its state; an account without
    /// one of the staff roles → 403. API routes (`AccessGuard`) and pages (`PageGuard`) alike.
    func admit(_ account: Account) throws {
        if self == .platform { throw HTTPFailure.error(for: .forbidden) }
        if !(self == .holder && [.frozen, .pendingActivation].contains(account.status)) { try account.checkMayAct() }
        if case .staff(let roles) = self {
            guard account.kind == .staff, !account.roles.isDisjoint(with: roles) else { throw HTTPFailure.error(for: .forbidden) }
        }
    }
}

extension Request {
    private struct AuthenticationKey: StorageKey {
        typealias Value = Authenticated
    }

    /// The signed-in caller and their session.
    struct Authenticated: Sendable {
        var account: Account
        var session: Session
        var viaCookie: Bool
    }

    var authenticated: Authenticated? {
        get { storage[AuthenticationKey.self] }
        set { storage[AuthenticationKey.self] = newValue }
    }

    /// The signed-in account; 401 when there is none.
    func requireAccount() throws -> Account {
        guard let account = authenticated?.account else { throw HTTPFailure.error(for: .unauthorized) }
        return account
    }

    /// The client's address: the direct peer, or — when the peer is one of the trusted proxies
    /// (`SHIMING_TRUSTED_PROXIES`) — the right-most untrusted hop it forwarded. Clients can forge
    /// these headers, so nobody else's are read.
    var clientIP: String? {
        let trusted = application.shiming.configuration.trustedProxies
        let peer = peerIP
        guard !trusted.isEmpty else { return peer }
        return ClientAddress.resolve(peer: peer, forwardedFor: headers[.xForwardedFor], forwarded: headers[.forwarded], trusted: trusted)
    }

    /// The direct peer's IP as text.
    var peerIP: String? { remoteAddress.flatMap(Self.text) }

    /// An address's IP as text; IPv4 written from its four bytes (NIO's `ipAddress` formats
    /// through `inet_ntop`, that is `sprintf`: about a microsecond of every request that asks).
    static func text(of address: SocketAddress) -> String? {
        guard case .v4(let v4) = address else { return address.ipAddress }
        let value = UInt32(bigEndian: v4.address.sin_addr.s_addr)
        return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    /// Whether the direct peer is a trusted proxy (its `X-Forwarded-Proto` is then believed).
    var fromTrustedProxy: Bool {
        guard let peer = peerIP.flatMap(IPAddress.init) else { return false }
        return application.shiming.configuration.trustedProxies.contains { $0.contains(peer) }
    }
}

/// Loads the session named by `Authorization: Bearer …` or the session cookie, on every
/// request. An unknown or expired token is ignored here (public routes still work); guarded
/// routes then answer 401. Cookie sessions must carry their CSRF token on unsafe methods.
struct SessionAuthenticator: AsyncMiddleware {
    static let cookieName = "shiming_session"
    let accounts: AccountService

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        var token: String?
        var viaCookie = false
        let bearer = request.headers.bearerToken
        if let bearer, bearer.hasPrefix(PlatformService.keyPrefix) {
            // A platform's key: `PlatformAuthenticator` recognises it.
        } else if let bearer {
            token = bearer
        } else if let cookie = request.cookies[Self.cookieName]?.string {
            token = cookie
            viaCookie = true
        }
        if let token, let (account, session) = try await accounts.authenticate(token: token) {
            if viaCookie, ![.GET, .HEAD, .OPTIONS].contains(request.method) {
                // Header (scripts, API clients), form field, or — for multipart uploads, whose
                // body is read only after this check — the form's action URL.
                let sent = request.headers.first(name: "X-CSRF-Token") ?? (try? request.content.get(String.self, at: "_csrf"))
                    ?? request.query[String.self, at: "_csrf"]
                guard let expected = session.csrfToken, let sent, SecretHasher.equal(sent, expected) else {
                    throw UserFacingError(
                        code: "csrf_failed", kind: .forbidden,
                        message: LocalizedText("页面已过期，请刷新后重试。", "The page has expired; reload it and try again.")
                    )
                }
            }
            request.authenticated = .init(account: account, session: session, viaCookie: viaCookie)
        }
        return try await next.respond(to: request)
    }
}

/// Enforces a route's `Access` and the caller's account status, on every request. It decides
/// from what the authenticators put on the request, without waiting for anything, so it is a
/// plain `Middleware`: an `AsyncMiddleware` would start a task of its own and wait for the
/// rest of the chain's future, on every guarded request.
struct AccessGuard: Middleware {
    let access: Access

    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        do {
            try admit(request)
        } catch {
            return request.eventLoop.makeFailedFuture(error)
        }
        return next.respond(to: request)
    }

    private func admit(_ request: Request) throws {
        let platform = request.platformCaller
        if access == .platform {
            guard platform != nil else { throw HTTPFailure.error(for: request.authenticated == nil ? .unauthorized : .forbidden) }
            return
        }
        guard let account = request.authenticated?.account else {
            throw HTTPFailure.error(for: platform == nil ? .unauthorized : .forbidden)
        }
        try access.admit(account)
        // A consent text changed: acting waits until it is accepted (`/api/v1/me/consents`);
        // reading one's own data does not.
        if access == .signedIn, !request.shiming.consents.pending(account).isEmpty { throw ConsentService.required }
    }
}
