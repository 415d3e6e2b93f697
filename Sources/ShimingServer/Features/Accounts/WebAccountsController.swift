import Fluent
import Foundation
import IdentityRules
import Plot
import ShimingCore
import Vapor

/// The account pages: register (with the guardian variant), confirm code, sign in, sign out,
/// my account. They call the same `AccountService` as the API.
struct WebAccountsController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "register", access: .everyone, use: registerPage)
        routes.page(.POST, "register", access: .everyone, use: registerSubmit)
        routes.page(.GET, "confirm", access: .everyone, use: confirmPage)
        routes.page(.POST, "confirm", access: .everyone, use: confirmSubmit)
        routes.page(.POST, "confirm", "resend", access: .everyone, use: resend)
        routes.page(.GET, "signin", access: .everyone, use: signInPage)
        routes.page(.POST, "signin", access: .everyone, use: signInSubmit)
        routes.page(.GET, "signin", "code", access: .everyone, use: codeSignInPage)
        routes.page(.POST, "signin", "code", access: .everyone, use: sendSignInCode)
        routes.page(.POST, "signout", access: .everyone, use: signOut)
        routes.page(.GET, "account", access: .holder, use: accountPage)
    }

    /// A page response with the CSRF cookie set when one was made.
    func page(_ html: String, cookie: HTTPCookies.Value?, status: HTTPResponseStatus = .ok) -> Response {
        let response = WebController.html(html, status: status)
        if let cookie { response.cookies[PageCSRF.cookie] = cookie }
        return response
    }

    @Sendable func registerPage(_ req: Request) async throws -> Response {
        let (csrf, cookie) = PageCSRF.token(for: req)
        let guardian = req.query[String.self, at: "guardian"] == "1"
        return page(AccountPages.register(.init(lang: req.lang, csrf: csrf, guardian: guardian)).render(), cookie: cookie)
    }

    struct RegisterForm: Content {
        var username: String?
        var phone: String?
        var email: String?
        var guardianPhone: String?
        var password: String?
        var acceptTerms: String?
        var acceptSensitive: String?
        var guardian: String?
    }

    @Sendable func registerSubmit(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(RegisterForm.self)
        let (csrf, cookie) = PageCSRF.token(for: req)
        let guardian = form.guardian == "1"
        let input = AccountService.Registration(
            username: form.username, phone: guardian ? nil : form.phone, email: guardian ? nil : form.email,
            password: form.password ?? "", guardianPhone: guardian ? form.guardianPhone : nil, acceptTerms: form.acceptTerms == "true",
            acceptSensitive: form.acceptSensitive == "true"
        )
        return try await PageAction.run {
            let account = try await features.accounts.register(input, lang: req.lang, ip: req.clientIP, client: req.consentClient(.web))
            let channel = account.phone != nil || account.guardianPhone != nil ? "sms" : "email"
            return req.redirect(to: "/confirm?account=\(account.id.uuidString)&channel=\(channel)", redirectType: .normal)
        } refused: { error in
            var values = ["username": form.username ?? "", "phone": form.phone ?? "", "email": form.email ?? "",
                          "guardianPhone": form.guardianPhone ?? ""]
            values["acceptTerms"] = form.acceptTerms
            values["acceptSensitive"] = form.acceptSensitive
            let model = AccountPages.RegisterModel(
                lang: req.lang, csrf: csrf, guardian: guardian, values: values, errors: error.fields, notice: error.message(req.lang)
            )
            return page(AccountPages.register(model).render(), cookie: cookie, status: error.kind.status)
        }
    }

    /// Where the code went, masked, for the confirm page.
    func destination(of account: Account, channel: String) -> String {
        if channel == "email" { return account.email.map(EmailAddress.mask) ?? "" }
        return (account.phone ?? account.guardianPhone).map(MobileNumber.mask) ?? ""
    }

    func confirmModel(
        _ req: Request, csrf: String, accountID: String, channel: String, error: String? = nil, notice: String? = nil
    ) async throws -> AccountPages.ConfirmModel {
        guard let id = UUID(uuidString: accountID), let account = try await features.accounts.account(id) else {
            throw CommonErrors.notFound
        }
        let channel = channel == "email" ? "email" : "sms"
        return AccountPages.ConfirmModel(lang: req.lang, csrf: csrf, accountID: id.uuidString, channel: channel,
                                         destination: destination(of: account, channel: channel), error: error, notice: notice)
    }

    @Sendable func confirmPage(_ req: Request) async throws -> Response {
        let (csrf, cookie) = PageCSRF.token(for: req)
        let model = try await confirmModel(req, csrf: csrf, accountID: req.query[String.self, at: "account"] ?? "",
                                           channel: req.query[String.self, at: "channel"] ?? "sms")
        return page(AccountPages.confirm(model).render(), cookie: cookie)
    }

    struct ConfirmForm: Content {
        var account: String
        var channel: String
        var code: String?
    }

    @Sendable func confirmSubmit(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(ConfirmForm.self)
        guard let id = UUID(uuidString: form.account) else { throw CommonErrors.notFound }
        return try await PageAction.run {
            let account = try await features.accounts.confirm(
                accountID: id, .init(channel: form.channel, code: form.code ?? ""), ip: req.clientIP
            )
            // A student registered with the guardian's phone is told which name to sign in with.
            if account.guardianPhone != nil, account.phone == nil, account.email == nil, let username = account.username {
                return req.redirect(to: "/signin?confirmed=1&as=\(username)", redirectType: .normal)
            }
            return req.redirect(to: "/signin?confirmed=1", redirectType: .normal)
        } refused: { error in
            let model = try await confirmModel(req, csrf: PageCSRF.token(for: req).0, accountID: form.account, channel: form.channel,
                                               error: error.message(req.lang))
            return page(AccountPages.confirm(model).render(), cookie: nil, status: error.kind.status)
        }
    }

    @Sendable func resend(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(ConfirmForm.self)
        guard let id = UUID(uuidString: form.account), let account = try await features.accounts.account(id) else {
            throw CommonErrors.notFound
        }
        let destination = form.channel == "email" ? account.email : (account.phone ?? account.guardianPhone)
        var notice = AccountText.resent(req.lang)
        var error: String?
        if let destination {
            do {
                try await features.accounts.requestCode(
                    .init(channel: form.channel == "email" ? "email" : "sms", destination: destination, purpose: CodePurpose.confirmContact.rawValue),
                    ip: req.clientIP
                )
            } catch let failure as UserFacingError {
                error = failure.message(req.lang)
                notice = ""
            }
        }
        let model = try await confirmModel(req, csrf: PageCSRF.token(for: req).0, accountID: form.account, channel: form.channel,
                                           error: error, notice: notice.isEmpty ? nil : notice)
        return page(AccountPages.confirm(model).render(), cookie: nil)
    }

    @Sendable func signInPage(_ req: Request) async throws -> Response {
        let (csrf, cookie) = PageCSRF.token(for: req)
        var notice: String?
        if req.query[String.self, at: "activated"] == "1" { notice = AccountText.activated(req.lang) }
        if req.query[String.self, at: "confirmed"] == "1" { notice = AccountText.confirmed(req.lang) }
        if req.query[String.self, at: "reset"] == "1" { notice = PasswordText.resetDone(req.lang) }
        var login = ""
        if let username = req.query[String.self, at: "as"], AccountService.isValidUsername(username) {
            notice = AccountText.confirmedSignInAs(username)(req.lang)
            login = username
        }
        let model = AccountPages.SignInModel(lang: req.lang, csrf: csrf, login: login, notice: notice,
                                             next: Self.localPath(req.query[String.self, at: "next"]))
        return page(AccountPages.signIn(model).render(), cookie: cookie)
    }

    /// A path on this site to continue at after signing in; anything else (another host,
    /// `//evil`, a scheme) is dropped, so the sign-in page cannot send people elsewhere.
    static func localPath(_ raw: String?) -> String? {
        guard let raw, raw.count <= 300, WebController.safeRedirectTarget(raw) == raw else { return nil }
        return raw
    }

    struct SignInForm: Content {
        var login: String?
        var password: String?
        var code: String?
        var next: String?
    }

    /// 验证码登录: a phone number, a code by SMS, signed in.
    @Sendable func codeSignInPage(_ req: Request) async throws -> Response {
        let (csrf, cookie) = PageCSRF.token(for: req)
        let model = AccountPages.CodeSignInModel(lang: req.lang, csrf: csrf, next: Self.localPath(req.query[String.self, at: "next"]))
        return page(AccountPages.codeSignIn(model).render(), cookie: cookie)
    }

    /// Sends the sign-in code (to a phone that names one account; the page reads the same
    /// either way, so it does not tell who is registered), then asks for it.
    @Sendable func sendSignInCode(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(SignInForm.self)
        let (csrf, cookie) = PageCSRF.token(for: req)
        var model = AccountPages.CodeSignInModel(lang: req.lang, csrf: csrf, phone: form.login ?? "", next: Self.localPath(form.next))
        return try await PageAction.run {
            try await features.accounts.requestCode(
                .init(channel: "sms", destination: form.login ?? "", purpose: CodePurpose.signIn.rawValue), ip: req.clientIP)
            model.sent = true
            return page(AccountPages.codeSignIn(model).render(), cookie: cookie)
        } refused: { error in
            model.error = error.fields["destination"].map { Forms.message(for: $0, lang: req.lang) } ?? error.message(req.lang)
            return page(AccountPages.codeSignIn(model).render(), cookie: cookie, status: error.kind.status)
        }
    }

    @Sendable func signInSubmit(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(SignInForm.self)
        let (csrf, cookie) = PageCSRF.token(for: req)
        return try await PageAction.run {
            let session = try await features.accounts.signIn(
                .init(login: form.login ?? "", password: form.password, code: form.code), kind: "web", ip: req.clientIP,
                device: req.cookies[DeviceToken.cookie]?.string
            )
            // A fresh session id at every sign-in (no fixation); the pre-sign-in CSRF cookie goes.
            // Staff land on their desk, applicants on their account.
            // A verification link opened before signing in comes next (the hosted flow).
            let landing = session.account.kind == .staff ? "/staff"
                : (Self.localPath(form.next) ?? WebVerifyController.pendingLanding(req) ?? "/account")
            let response = req.redirect(to: landing, redirectType: .normal)
            response.cookies[SessionAuthenticator.cookieName] = HTTPCookies.Value(
                string: session.token, expires: session.expiresAt, path: "/", isSecure: req.isSecure, isHTTPOnly: true, sameSite: .lax
            )
            response.cookies[PageCSRF.cookie] = .cleared
            if let device = session.deviceToken {
                // This browser is the owner's from now on: failures elsewhere do not slow it.
                response.cookies[DeviceToken.cookie] = HTTPCookies.Value(string: device, expires: session.expiresAt.addingTimeInterval(365 * 24 * 3600),
                                                                         path: "/", isSecure: req.isSecure, isHTTPOnly: true, sameSite: .lax)
            }
            return response
        } refused: { error in
            let html: String
            if form.code != nil {
                html = AccountPages.codeSignIn(.init(lang: req.lang, csrf: csrf, phone: form.login ?? "", sent: true, error: error.message(req.lang),
                                                     next: Self.localPath(form.next))).render()
            } else {
                html = AccountPages.signIn(.init(lang: req.lang, csrf: csrf, login: form.login ?? "", error: error.message(req.lang),
                                                 next: Self.localPath(form.next))).render()
            }
            let response = page(html, cookie: cookie, status: error.kind.status)
            if case .rateLimited(let seconds) = error.kind { response.headers.replaceOrAdd(name: .retryAfter, value: String(seconds)) }
            return response
        }
    }

    @Sendable func signOut(_ req: Request) async throws -> Response {
        if let authenticated = req.authenticated {
            try await features.accounts.signOut(session: authenticated.session, account: authenticated.account, ip: req.clientIP)
        }
        let response = req.redirect(to: "/", redirectType: .normal)
        response.cookies[SessionAuthenticator.cookieName] = .cleared
        return response
    }

    @Sendable func accountPage(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let (csrf, _) = PageCSRF.token(for: req)
        let waiting = try await features.sessions.waiting(for: authenticated.account)
        return page(AccountPages.account(.init(lang: req.lang, csrf: csrf, account: authenticated.account, waiting: waiting)).render(), cookie: nil)
    }
}
