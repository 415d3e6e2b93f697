import IdentityRules
import Plot
import ShimingCore

/// Texts of the password and profile pages.
enum PasswordText {
    static let forgotTitle = LocalizedText("找回密码", "Reset your password")
    static let forgotLead = LocalizedText("输入已确认的手机号或邮箱，我们会发送验证码。", "Enter your confirmed phone or e-mail; we send you a code.")
    static let destination = LocalizedText("手机号或邮箱", "Phone or e-mail")
    static let sendCode = LocalizedText("发送验证码", "Send the code")
    static let resetTitle = LocalizedText("设置新密码", "Set a new password")
    static let resetLead = LocalizedText("如果该手机号或邮箱已注册并确认，验证码已发出（5 分钟内有效）。", "If this phone or e-mail is registered and confirmed, a code is on its way (valid for 5 minutes).")
    static let newPassword = LocalizedText("新密码", "New password")
    static let currentPassword = LocalizedText("当前密码", "Current password")
    static let save = LocalizedText("保存", "Save")
    static let forgotLink = LocalizedText("忘记密码？", "Forgot your password?")
    static let resetDone = LocalizedText("密码已重置，请用新密码登录。", "Your password has been reset; sign in with the new one.")
    static let changeTitle = LocalizedText("修改密码", "Change password")
    static let changed = LocalizedText("密码已修改。其他设备上的登录已退出。", "Password changed. Sessions on other devices have been signed out.")
    static let profileTitle = LocalizedText("编辑资料", "Edit profile")
    static let displayName = LocalizedText("昵称", "Display name")
    static let language = LocalizedText("消息语言", "Language of messages")
    static let profileSaved = LocalizedText("资料已保存。", "Profile saved.")
    static let lockedNote = LocalizedText(
        "登录名、姓名和性别不能在这里修改，如需变更请联系客服提交变更申请。",
        "Login name, legal name and gender cannot be changed here; contact support to file a change request."
    )
}

extension AccountPages {
    struct ForgotModel {
        var lang: Lang
        var csrf: String
        var destination = ""
        var step = 1
        var errors: [String: String] = [:]
        var notice: String?
    }

    static func forgot(_ model: ForgotModel) -> HTML {
        let lang = model.lang
        func error(_ name: String) -> String? { model.errors[name].map { Forms.message(for: $0, lang: lang) } }
        var main: [Node<HTML.BodyContext>] = [.h1(.text((model.step == 1 ? PasswordText.forgotTitle : PasswordText.resetTitle)(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.errors.isEmpty ? "ok" : "error")) }
        if model.step == 1 {
            main.append(.p(.class("lead"), .text(PasswordText.forgotLead(lang))))
            main.append(Forms.form(action: "/forgot", csrf: model.csrf, [
                Forms.field(.init(name: "destination", label: PasswordText.destination, value: model.destination, autocomplete: "username",
                                  required: true), error: error("destination"), lang: lang),
                Forms.submit(PasswordText.sendCode, lang: lang),
            ]))
        } else {
            main.append(.p(.class("lead"), .text(PasswordText.resetLead(lang))))
            main.append(Forms.form(action: "/forgot/reset", csrf: model.csrf, [
                Forms.void("input", [("type", "hidden"), ("name", "destination"), ("value", model.destination)]),
                Forms.field(.init(name: "code", label: AccountText.code, autocomplete: "one-time-code", inputMode: "numeric", required: true),
                            error: error("code"), lang: lang),
                Forms.field(.init(name: "password", label: PasswordText.newPassword, type: "password", autocomplete: "new-password",
                                  hint: AccountText.passwordHint, required: true), error: error("password"), lang: lang),
                Forms.submit(PasswordText.save, lang: lang),
            ]))
        }
        return Layout.page(title: PasswordText.forgotTitle, lang: lang, path: "/forgot", main: .group(main))
    }

    struct ChangePasswordModel {
        var lang: Lang
        var csrf: String
        var errors: [String: String] = [:]
        var notice: String?
    }

    static func changePassword(_ model: ChangePasswordModel) -> HTML {
        let lang = model.lang
        func error(_ name: String) -> String? { model.errors[name].map { Forms.message(for: $0, lang: lang) } }
        var main: [Node<HTML.BodyContext>] = [.h1(.text(PasswordText.changeTitle(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.errors.isEmpty ? "ok" : "error")) }
        main.append(Forms.form(action: "/account/password", csrf: model.csrf, [
            Forms.field(.init(name: "current", label: PasswordText.currentPassword, type: "password", autocomplete: "current-password",
                              required: true), error: error("current"), lang: lang),
            Forms.field(.init(name: "new", label: PasswordText.newPassword, type: "password", autocomplete: "new-password",
                              hint: AccountText.passwordHint, required: true), error: error("new"), lang: lang),
            Forms.submit(PasswordText.save, lang: lang),
        ]))
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: PasswordText.changeTitle, lang: lang, path: "/account/password", signedIn: true, main: .group(main))
    }

    struct ProfileModel {
        var lang: Lang
        var csrf: String
        var account: Account
        var errors: [String: String] = [:]
        var notice: String?
    }

    static func profile(_ model: ProfileModel) -> HTML {
        let lang = model.lang
        func error(_ name: String) -> String? { model.errors[name].map { Forms.message(for: $0, lang: lang) } }
        var main: [Node<HTML.BodyContext>] = [.h1(.text(PasswordText.profileTitle(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.errors.isEmpty ? "ok" : "error")) }
        let options: [Node<HTML.BodyContext>] = Lang.allCases.map { option in
            Forms.element("option", [("value", option.rawValue)] + (option == model.account.locale ? [("selected", "selected")] : []),
                          [.text(option == .zhCN ? "中文" : "English")])
        }
        main.append(Forms.form(action: "/account/profile", csrf: model.csrf, [
            Forms.field(.init(name: "displayName", label: PasswordText.displayName, value: model.account.displayName ?? "",
                              autocomplete: "nickname"), error: error("displayName"), lang: lang),
            Forms.element("div", [("class", "field")], [
                Forms.element("label", [("for", "field-locale")], [.text(PasswordText.language(lang))]),
                Forms.element("select", [("id", "field-locale"), ("name", "locale")], options),
            ]),
            Forms.submit(PasswordText.save, lang: lang),
        ]))
        let account = model.account
        main.append(Forms.element("dl", [("class", "facts")], [
            Forms.element("dt", [], [.text(AccountText.usernameLabel(lang))]), Forms.element("dd", [], [.text(account.username ?? "—")]),
            Forms.element("dt", [], [.text(ChangeRequestField.legalName.label(lang))]),
            Forms.element("dd", [], [.text(account.legalName.map(PersonalName.mask) ?? "—")]),
            Forms.element("dt", [], [.text(ChangeRequestField.gender.label(lang))]),
            Forms.element("dd", [], [.text(account.gender.flatMap { ChangeRequestPages.genders[$0]?(lang) } ?? "—")]),
        ]))
        main.append(.p(.class("hint"), .text(PasswordText.lockedNote(lang))))
        main.append(.p(.a(.class("button"), .href("/account/change-requests"), .text(ChangeRequestPages.title(lang)))))
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: PasswordText.profileTitle, lang: lang, path: "/account/profile", signedIn: true, main: .group(main))
    }
}
