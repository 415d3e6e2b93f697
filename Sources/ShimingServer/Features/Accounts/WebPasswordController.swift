import Foundation
import IdentityRules
import Plot
import ShimingCore
import Vapor

/// Forgot password, change password and edit profile pages, on the same services as the API.
struct WebPasswordController {
    let features: Features

    var pages: WebAccountsController { WebAccountsController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "forgot", access: .everyone, use: forgotPage)
        routes.page(.POST, "forgot", access: .everyone, use: forgotSubmit)
        routes.page(.POST, "forgot", "reset", access: .everyone, use: resetSubmit)
        routes.page(.GET, "account", "password", access: .signedIn, use: changePage)
        routes.page(.POST, "account", "password", access: .signedIn, use: changeSubmit)
        routes.page(.GET, "account", "profile", access: .signedIn, use: profilePage)
        routes.page(.POST, "account", "profile", access: .signedIn, use: profileSubmit)
    }

    /// `sms` or `email` for what the visitor typed.
    static func channel(of destination: String) -> String { destination.contains("@") ? "email" : "sms" }

    @Sendable func forgotPage(_ req: Request) async throws -> Response {
        let (csrf, cookie) = PageCSRF.token(for: req)
        return pages.page(AccountPages.forgot(.init(lang: req.lang, csrf: csrf)).render(), cookie: cookie)
    }

    struct ForgotForm: Content {
        var destination: String?
        var code: String?
        var password: String?
    }

    @Sendable func forgotSubmit(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(ForgotForm.self)
        let (csrf, cookie) = PageCSRF.token(for: req)
        let destination = (form.destination ?? "").trimmingCharacters(in: .whitespaces)
        return try await PageAction.run {
            try await features.accounts.requestCode(
                .init(channel: Self.channel(of: destination), destination: destination, purpose: CodePurpose.resetPassword.rawValue), ip: req.clientIP
            )
            return pages.page(AccountPages.forgot(.init(lang: req.lang, csrf: csrf, destination: destination, step: 2)).render(), cookie: cookie)
        } refused: { error in
            var errors = error.fields
            if errors.isEmpty, case .rateLimited = error.kind { errors["destination"] = "rate_limited" }
            let model = AccountPages.ForgotModel(lang: req.lang, csrf: csrf, destination: destination, errors: errors, notice: error.message(req.lang))
            return pages.page(AccountPages.forgot(model).render(), cookie: cookie, status: error.kind.status)
        }
    }

    @Sendable func resetSubmit(_ req: Request) async throws -> Response {
        try PageCSRF.verify(req)
        let form = try req.content.decode(ForgotForm.self)
        let (csrf, cookie) = PageCSRF.token(for: req)
        let destination = form.destination ?? ""
        return try await PageAction.run {
            try await features.accounts.resetPassword(
                .init(channel: Self.channel(of: destination), destination: destination, code: form.code ?? "", password: form.password ?? ""),
                ip: req.clientIP
            )
            return req.redirect(to: "/signin?reset=1", redirectType: .normal)
        } refused: { error in
            let model = AccountPages.ForgotModel(lang: req.lang, csrf: csrf, destination: destination, step: 2,
                                                 errors: error.fields.isEmpty ? ["code": "invalid"] : error.fields, notice: error.message(req.lang))
            return pages.page(AccountPages.forgot(model).render(), cookie: cookie, status: error.kind.status)
        }
    }

    @Sendable func changePage(_ req: Request) async throws -> Response {
        return pages.page(AccountPages.changePassword(.init(lang: req.lang, csrf: PageCSRF.token(for: req).0)).render(), cookie: nil)
    }

    struct ChangeForm: Content {
        var current: String?
        var new: String?
    }

    @Sendable func changeSubmit(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let form = try req.content.decode(ChangeForm.self)
        let csrf = PageCSRF.token(for: req).0
        return try await PageAction.run {
            try await features.accounts.changePassword(
                account: authenticated.account, keeping: authenticated.session, .init(current: form.current ?? "", new: form.new ?? ""), ip: req.clientIP
            )
            return pages.page(AccountPages.changePassword(.init(lang: req.lang, csrf: csrf, notice: PasswordText.changed(req.lang))).render(), cookie: nil)
        } refused: { error in
            // "invalid" on the current password is a wrong password, not a wrong code.
            let errors = error.fields.mapValues { $0 == "invalid" ? "wrong_current_password" : $0 }
            let model = AccountPages.ChangePasswordModel(lang: req.lang, csrf: csrf, errors: errors, notice: error.message(req.lang))
            return pages.page(AccountPages.changePassword(model).render(), cookie: nil, status: error.kind.status)
        }
    }

    @Sendable func profilePage(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let model = AccountPages.ProfileModel(lang: req.lang, csrf: PageCSRF.token(for: req).0, account: authenticated.account)
        return pages.page(AccountPages.profile(model).render(), cookie: nil)
    }

    struct ProfileForm: Content {
        var displayName: String?
        var locale: String?
    }

    @Sendable func profileSubmit(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let form = try req.content.decode(ProfileForm.self)
        let csrf = PageCSRF.token(for: req).0
        return try await PageAction.run {
            let account = try await features.accounts.updateProfile(
                account: authenticated.account, .init(displayName: form.displayName, locale: form.locale), ip: req.clientIP
            )
            let model = AccountPages.ProfileModel(lang: req.lang, csrf: csrf, account: account, notice: PasswordText.profileSaved(req.lang))
            return pages.page(AccountPages.profile(model).render(), cookie: nil)
        } refused: { error in
            let model = AccountPages.ProfileModel(lang: req.lang, csrf: csrf, account: authenticated.account, errors: error.fields,
                                                  notice: error.message(req.lang))
            return pages.page(AccountPages.profile(model).render(), cookie: nil, status: error.kind.status)
        }
    }
}
