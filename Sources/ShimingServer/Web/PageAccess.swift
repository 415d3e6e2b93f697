import Foundation
import ShimingCore
import Vapor

extension Route {
    static let pageAccessKey = "shiming.page.access"

    /// Who may open the page, for routes registered with `page(_:_:access:use:)`.
    var pageAccess: Access? {
        userInfo[Route.pageAccessKey] as? Access
    }
}

extension RoutesBuilder {
    /// Registers a page (HTML, form posts, files shown on a page) with the access it needs,
    /// declared from `AccessPolicy` as API routes declare theirs, and guarded by `PageGuard`.
    /// The route × role matrix test walks these with the API routes.
    @discardableResult
    func page(
        _ method: HTTPMethod, _ path: PathComponent..., access: Access, body: HTTPBodyStreamStrategy = .collect,
        use handler: @Sendable @escaping (Request) async throws -> Response
    ) -> Route {
        let builder: any RoutesBuilder = access == .everyone ? self : grouped(PageGuard(access: access))
        let route = builder.on(method, path, body: body, use: handler)
        route.userInfo[Route.pageAccessKey] = access
        return route
    }
}

/// Enforces a page's `Access`: nobody signed in → the sign-in page (staff land on their desk
/// after it; anyone else comes back to the page they asked for); a locked or closed account
/// (frozen too, unless the page is one a frozen holder may use) → the error page saying why;
/// an applicant or a staff member without one of the roles → 403.
struct PageGuard: Middleware {
    let access: Access

    /// Decided from what the authenticators put on the request, without waiting: a plain
    /// `Middleware`, like `AccessGuard`.
    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        do {
            if let redirect = try refusal(request) { return request.eventLoop.makeSucceededFuture(redirect) }
        } catch {
            return request.eventLoop.makeFailedFuture(error)
        }
        return next.respond(to: request)
    }

    /// Where the caller goes instead of the page (nil: to the page), or the error refusing it.
    private func refusal(_ request: Request) throws -> Response? {
        guard let account = request.authenticated?.account else {
            if case .staff = access { return request.redirect(to: "/signin", redirectType: .normal) }
            return request.method == .GET ? request.redirectToSignIn(next: request.url.string) : request.redirect(to: "/signin", redirectType: .normal)
        }
        try access.admit(account)
        // A consent text changed: the applicant reads and accepts it before going on.
        if !Self.consentFree.contains(where: { request.url.path.hasPrefix($0) }), !request.shiming.consents.pending(account).isEmpty {
            let back = request.method == .GET ? request.url.string : "/account"
            let query = back.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-_.~"))) ?? "/account"
            return request.redirect(to: "/account/consents?next=\(query)", redirectType: .normal)
        }
        return nil
    }

    /// Pages open while a changed consent text waits: the consents themselves, taking one's
    /// data away, and closing the account (someone who does not accept the new terms may leave).
    static let consentFree = ["/account/consents", "/account/export", "/account/access-log", "/account/delete"]
}

extension Request {
    /// The signed-in caller of a guarded page (`PageGuard` has let them through).
    var caller: Authenticated {
        get throws {
            guard let authenticated else { throw CommonErrors.unauthenticated }
            return authenticated
        }
    }
}
