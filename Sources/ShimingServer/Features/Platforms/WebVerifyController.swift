import Foundation
import Plot
import ShimingCore
import Vapor

/// `/verify/{id}`: the hosted flow a platform sends its user to. Opening it signed out offers
/// sign-in or registration and remembers the session in a cookie, so that whichever way the
/// person signs in they come back here; signed in, the session becomes theirs and they consent,
/// wait for their application, or start one.
struct WebVerifyController {
    let features: Features

    /// Remembers the session a signed-out person opened (sign-in lands there afterwards).
    static let cookie = "shiming_verify"

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "verify", ":id", access: .everyone, use: open)
        routes.page(.POST, "verify", ":id", "consent", access: .signedIn, use: consent)
    }

    /// Where sign-in lands when the person opened a verification link before signing in.
    static func pendingLanding(_ req: Request) -> String? {
        guard let raw = req.cookies[cookie]?.string, let id = UUID(uuidString: raw) else { return nil }
        return "/verify/\(id.lowercasedText)"
    }

    @Sendable func open(_ req: Request) async throws -> Response {
        let id = try req.uuidParameter()
        let account = req.authenticated?.account
        if let account { try account.checkMayAct() }
        let (session, platform, step) = try await features.sessions.open(id, account: account)
        let response = render(req, session: session, platform: platform, step: step)
        if case .signIn = step {
            response.cookies[Self.cookie] = HTTPCookies.Value(string: id.lowercasedText, expires: session.expiresAt, path: "/",
                                                              isSecure: req.isSecure, isHTTPOnly: true, sameSite: .lax)
        } else if req.cookies[Self.cookie] != nil {
            response.cookies[Self.cookie] = .cleared
        }
        return response
    }

    func render(_ req: Request, session: VerificationSession, platform: Platform, step: VerificationSessionService.Step,
                error: String? = nil, status: HTTPResponseStatus = .ok) -> Response {
        let body: HostedPages.Body
        var status = status
        switch step {
        case .closed(let ended):
            // The way back only for the person the session was theirs.
            let back = session.accountID != nil && session.accountID == req.authenticated?.account.id ? session.returnLocation(ended) : nil
            body = .closed(ended, back: back)
            status = .gone
        case .signIn: body = .signIn
        case .consent: body = .consent(claims: platform.claims, until: features.sessions.now.addingTimeInterval(GrantService.lifetime))
        case .waiting(let item): body = .waiting(caseID: item.id)
        case .apply: body = .apply(program: session.program)
        }
        // The consent form's answer redirects to the platform: the page's policy allows its origin.
        if let origin = Self.origin(of: session.returnURL) { req.formTargets = [origin] }
        // The platform may say which language its user reads, unless the person chose one here.
        let lang = req.cookies[Request.langCookie] == nil ? session.locale.flatMap(Lang.init(rawValue:)) ?? req.lang : req.lang
        let model = HostedPages.Model(lang: lang, csrf: PageCSRF.token(for: req).0, session: session, platform: platform,
                                      signedIn: req.authenticated != nil, body: body, error: error)
        return WebController.html(HostedPages.page(model).render(), status: status)
    }

    /// `scheme://host[:port]` of a URL, for a content security policy.
    static func origin(of url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host,
              ["http", "https"].contains(scheme.lowercased()), host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]".contains($0) }) else { return nil }
        return "\(scheme.lowercased())://\(host)" + (components.port.map { ":\($0)" } ?? "")
    }

    @Sendable func consent(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        let id = try req.uuidParameter()
        let decision = (try? req.content.get(String.self, at: "decision")) ?? ""
        guard decision == "grant" || decision == "decline" else { throw AccountError.invalid(["decision": "invalid_value"]) }
        return try await PageAction.run {
            let (ended, _) = try await features.sessions.decide(id, account: account, grant: decision == "grant", ip: req.clientIP)
            return req.redirect(to: ended.returnLocation(ended.status), redirectType: .normal)
        } refused: { error in
            let (session, platform, step) = try await features.sessions.open(id, account: account)
            return render(req, session: session, platform: platform, step: step, error: error.message(req.lang), status: error.kind.status)
        }
    }
}
