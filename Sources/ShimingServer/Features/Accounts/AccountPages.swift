import Foundation
import Plot
import ShimingCore

/// The texts of the account pages.
enum AccountText {
    static let unconfirmedLead = LocalizedText("您的手机号或邮箱还没有确认。确认之前只能确认联系方式或退出登录。",
                                               "Your phone or e-mail is not confirmed yet. Until it is, you can only confirm it or sign out.")
    static let confirmNow = LocalizedText("输入确认码", "Enter the code")
    static let registerTitle = LocalizedText("注册账号", "Create an account")
    static let registerGuardianTitle = LocalizedText("学生注册（使用监护人手机号）", "Student registration (guardian's phone)")
    static let registerLead = LocalizedText(
        "填写手机号或邮箱，我们会发送验证码确认是您本人。",
        "Enter your phone number or e-mail; we send a code to confirm it is yours."
    )
    static let registerGuardianLead = LocalizedText(
        "未满 14 周岁的学生请用监护人（父母）的手机号注册。验证码发到监护人手机，监护人输入即表示同意。",
        "Students under 14 register with a guardian's (parent's) phone. The code goes to the guardian, whose entering it gives consent."
    )
    static let guardianLink = LocalizedText("学生用监护人手机号注册", "Students: register with a guardian's phone")
    static let username = LocalizedText("用户名（可选）", "Username (optional)")
    static let usernameLabel = LocalizedText("用户名", "Username")
    static let usernameGuardianHint = LocalizedText("以后用这个用户名登录。字母开头，3–32 位，可用字母、数字、下划线。",
                                                    "You will sign in with this username. Starts with a letter; 3–32 letters, digits, underscores.")
    static let usernameHint = LocalizedText("字母开头，3–32 位，可用字母、数字、下划线。", "Starts with a letter; 3–32 letters, digits, underscores.")
    static let phone = LocalizedText("手机号", "Mobile phone number")
    static let guardianPhone = LocalizedText("监护人手机号", "Guardian's mobile number")
    static let email = LocalizedText("邮箱（可选）", "E-mail (optional)")
    static let password = LocalizedText("密码", "Password")
    static let passwordHint = LocalizedText("至少 8 位，包含字母、数字、符号中的两种。", "At least 8 characters, with two of: letters, digits, symbols.")
    static let acceptTermsBefore = LocalizedText("我已阅读并同意", "I have read and accept the")
    static let termsLink = LocalizedText("《用户协议》", " terms of use")
    static let and = LocalizedText("和", " and the")
    static let privacyLink = LocalizedText("《隐私政策》", " privacy policy")
    static let registerButton = LocalizedText("注册", "Register")
    static let confirmTitle = LocalizedText("输入验证码", "Enter the code")
    static let confirmLead = LocalizedText("验证码已发送，5 分钟内有效。", "A code has been sent; it is valid for 5 minutes.")
    static let code = LocalizedText("验证码（6 位数字）", "Code (6 digits)")
    static let confirmButton = LocalizedText("确认", "Confirm")
    static let resend = LocalizedText("重新发送验证码", "Send the code again")
    static let resent = LocalizedText("如果号码正确，新的验证码已发送。", "If the number is right, a new code has been sent.")
    static let signInTitle = LocalizedText("登录", "Sign in")
    static let login = LocalizedText("手机号、邮箱或用户名", "Phone, e-mail or username")
    static let signInButton = LocalizedText("登录", "Sign in")
    static let noAccount = LocalizedText("还没有账号？注册", "No account yet? Register")
    static let codeSignInLink = LocalizedText("用短信验证码登录（不用密码）", "Sign in with an SMS code (no password)")
    static let passwordSignInLink = LocalizedText("用密码登录", "Sign in with your password")
    static let codeSignInTitle = LocalizedText("验证码登录", "Sign in with a code")
    static let codeSignInLead = LocalizedText("输入注册时的手机号，我们发一个验证码到这个手机，输入验证码就能登录。", "Enter the phone number you registered with; we send a code to it, and entering the code signs you in.")
    static let codeSignInSent = LocalizedText("如果这个手机号已注册，验证码已发出，5 分钟内有效。", "If this number is registered, a code has been sent; it is valid for 5 minutes.")
    static let sendSignInCode = LocalizedText("获取验证码", "Send me a code")
    static let activated = LocalizedText("账号已激活，请登录。", "Your account is active; please sign in.")
    static let confirmed = LocalizedText("确认成功，请登录。", "Confirmed; please sign in.")
    static func confirmedSignInAs(_ username: String) -> LocalizedText {
        LocalizedText("确认成功。以后请用用户名「\(username)」和您设置的密码登录（这个学生账号也可以用监护人手机号登录，但家中有几个孩子用同一个手机号时，请用用户名）。",
                      "Confirmed. Sign in with the username “\(username)” and your password (the guardian's phone works too, unless several children registered with it).")
    }
    static let activationLinkUsed = LocalizedText(
        "这个激活链接已经用过或已过期。如果账号已经激活，请直接登录；否则请登录后按提示重新获取验证码。",
        "This activation link has been used or has expired. If your account is active, just sign in; otherwise sign in and request a new code."
    )
    static let accountTitle = LocalizedText("我的账号", "My account")
    static let frozenTitle = LocalizedText("您的账号已被冻结", "Your account is frozen")
    static let frozenReason = LocalizedText("原因：", "Reason: ")
    static let frozenHow = LocalizedText("冻结期间只能查看申请和提交申诉。如有异议，请打开被冻结的申请，在页面下方提出申诉；也可以通过“意见反馈”联系我们。",
                                         "While frozen you can only read your applications and appeal. To appeal, open the frozen application and use the form at the bottom; you can also write to us through Feedback.")
    static let status = LocalizedText("账号状态", "Account status")
    static let contacts = LocalizedText("联系方式", "Contacts")
    static let confirmedMark = LocalizedText("已确认", "confirmed")
    static let unconfirmedMark = LocalizedText("未确认", "not confirmed")
    static let signOut = LocalizedText("退出登录", "Sign out")
    static let statusNames: [AccountStatus: LocalizedText] = [
        .pendingActivation: LocalizedText("待激活", "waiting for confirmation"),
        .active: LocalizedText("正常", "active"),
        .locked: LocalizedText("已锁定", "locked"),
        .frozen: LocalizedText("已冻结", "frozen"),
        .closed: LocalizedText("已注销", "closed"),
    ]
}

/// Register, confirm, sign-in and account pages (model + view).
enum AccountPages {
    struct RegisterModel {
        var lang: Lang
        var csrf: String
        var guardian: Bool
        var values: [String: String] = [:]
        var errors: [String: String] = [:]
        var notice: String?
    }

    static func register(_ model: RegisterModel) -> HTML {
        let lang = model.lang
        func error(_ name: String) -> String? { model.errors[name].map { Forms.message(for: $0, lang: lang) } }
        var fields: [Node<HTML.BodyContext>] = [
            Forms.field(.init(name: "username", label: model.guardian ? AccountText.usernameLabel : AccountText.username,
                              value: model.values["username"] ?? "", autocomplete: "username",
                              hint: model.guardian ? AccountText.usernameGuardianHint : AccountText.usernameHint, required: model.guardian),
                        error: error("username"), lang: lang),
        ]
        if model.guardian {
            fields.append(Forms.field(.init(name: "guardianPhone", label: AccountText.guardianPhone, type: "tel",
                                            value: model.values["guardianPhone"] ?? "", autocomplete: "tel", inputMode: "numeric",
                                            required: true), error: error("guardianPhone") ?? error("phone"), lang: lang))
        } else {
            fields.append(Forms.field(.init(name: "phone", label: AccountText.phone, type: "tel", value: model.values["phone"] ?? "",
                                            autocomplete: "tel", inputMode: "numeric"), error: error("phone"), lang: lang))
            fields.append(Forms.field(.init(name: "email", label: AccountText.email, type: "email", value: model.values["email"] ?? "",
                                            autocomplete: "email"), error: error("email"), lang: lang))
        }
        fields.append(Forms.field(.init(name: "password", label: AccountText.password, type: "password", autocomplete: "new-password",
                                        hint: AccountText.passwordHint, required: true), error: error("password"), lang: lang))
        fields.append(ConsentPages.checkbox(name: "acceptTerms", checked: model.values["acceptTerms"] == "true", error: error("acceptTerms"), [
            .text(" " + AccountText.acceptTermsBefore(lang)),
            .a(.href("/terms"), .target(.blank), .text(AccountText.termsLink(lang))),
            .text(AccountText.and(lang)),
            .a(.href("/privacy"), .target(.blank), .text(AccountText.privacyLink(lang))),
        ]))
        fields.append(ConsentPages.sensitiveCheckbox(checked: model.values["acceptSensitive"] == "true", error: error("acceptSensitive"),
                                                     later: true, lang: lang))
        if model.guardian { fields.append(Forms.void("input", [("type", "hidden"), ("name", "guardian"), ("value", "1")])) }
        fields.append(Forms.submit(AccountText.registerButton, lang: lang))

        let title = model.guardian ? AccountText.registerGuardianTitle : AccountText.registerTitle
        var main: [Node<HTML.BodyContext>] = [
            .h1(.text(title(lang))),
            .p(.class("lead"), .text((model.guardian ? AccountText.registerGuardianLead : AccountText.registerLead)(lang))),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: "error")) }
        main.append(Forms.form(action: "/register", csrf: model.csrf, fields))
        if !model.guardian {
            main.append(.p(.a(.href("/register?guardian=1"), .text(AccountText.guardianLink(lang)))))
        }
        return Layout.page(title: title, lang: lang, path: model.guardian ? "/register?guardian=1" : "/register", main: .group(main))
    }

    struct ConfirmModel {
        var lang: Lang
        var csrf: String
        var accountID: String
        var channel: String
        var destination: String
        var error: String?
        var notice: String?
    }

    static func confirm(_ model: ConfirmModel) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [
            .h1(.text(AccountText.confirmTitle(lang))),
            .p(.class("lead"), .text(AccountText.confirmLead(lang) + " " + model.destination)),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: "ok")) }
        main.append(Forms.form(action: "/confirm", csrf: model.csrf, [
            Forms.void("input", [("type", "hidden"), ("name", "account"), ("value", model.accountID)]),
            Forms.void("input", [("type", "hidden"), ("name", "channel"), ("value", model.channel)]),
            Forms.field(.init(name: "code", label: AccountText.code, autocomplete: "one-time-code", inputMode: "numeric", required: true),
                        error: model.error, lang: lang),
            Forms.submit(AccountText.confirmButton, lang: lang),
        ]))
        main.append(Forms.form(action: "/confirm/resend", csrf: model.csrf, [
            Forms.void("input", [("type", "hidden"), ("name", "account"), ("value", model.accountID)]),
            Forms.void("input", [("type", "hidden"), ("name", "channel"), ("value", model.channel)]),
            Forms.submit(AccountText.resend, lang: lang, primary: false),
        ]))
        return Layout.page(title: AccountText.confirmTitle, lang: lang, path: "/confirm?account=\(model.accountID)&channel=\(model.channel)",
                           main: .group(main))
    }

    struct SignInModel {
        var lang: Lang
        var csrf: String
        var login = ""
        var error: String?
        var notice: String?
        /// Where to go after signing in (a local path, e.g. the program the person chose).
        var next: String?
    }

    static func signIn(_ model: SignInModel) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [.h1(.text(AccountText.signInTitle(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: "ok")) }
        if let error = model.error { main.append(Forms.notice(error, kind: "error")) }
        main.append(Forms.form(action: "/signin", csrf: model.csrf, [
            Forms.field(.init(name: "login", label: AccountText.login, value: model.login, autocomplete: "username", required: true),
                        error: nil, lang: lang),
            Forms.field(.init(name: "password", label: AccountText.password, type: "password", autocomplete: "current-password", required: true),
                        error: nil, lang: lang),
        ] + (model.next.map { [Forms.void("input", [("type", "hidden"), ("name", "next"), ("value", $0)])] } ?? []) + [
            Forms.submit(AccountText.signInButton, lang: lang),
        ]))
        let codePath = "/signin/code" + (model.next.map { "?next=" + $0.queryValue } ?? "")
        main.append(.p(.a(.href(codePath), .id("code-sign-in"), .text(AccountText.codeSignInLink(lang)))))
        main.append(.p(.a(.href("/forgot"), .text(PasswordText.forgotLink(lang)))))
        main.append(.p(.a(.href("/register"), .text(AccountText.noAccount(lang)))))
        return Layout.page(title: AccountText.signInTitle, lang: lang, path: "/signin", main: .group(main))
    }

    struct CodeSignInModel {
        var lang: Lang
        var csrf: String
        var phone = ""
        var sent = false
        var error: String?
        var next: String?
    }

    /// 验证码登录: the phone first, then the code sent to it.
    static func codeSignIn(_ model: CodeSignInModel) -> HTML {
        let lang = model.lang
        let next: [Node<HTML.BodyContext>] = model.next.map { [Forms.void("input", [("type", "hidden"), ("name", "next"), ("value", $0)])] } ?? []
        var main: [Node<HTML.BodyContext>] = [.h1(.text(AccountText.codeSignInTitle(lang))), .p(.class("lead"), .text(AccountText.codeSignInLead(lang)))]
        if model.sent, model.error == nil { main.append(Forms.notice(AccountText.codeSignInSent(lang), kind: "ok")) }
        if let error = model.error { main.append(Forms.notice(error, kind: "error")) }
        if model.sent {
            main.append(Forms.form(action: "/signin", csrf: model.csrf, [
                Forms.void("input", [("type", "hidden"), ("name", "login"), ("value", model.phone)]),
                Forms.field(.init(name: "code", label: AccountText.code, autocomplete: "one-time-code", inputMode: "numeric", required: true),
                            error: nil, lang: lang),
            ] + next + [Forms.submit(AccountText.signInButton, lang: lang)]))
        }
        main.append(Forms.form(action: "/signin/code", csrf: model.csrf, [
            Forms.field(.init(name: "login", label: AccountText.phone, type: "tel", value: model.phone, autocomplete: "tel", inputMode: "numeric",
                              required: true), error: nil, lang: lang),
        ] + next + [Forms.submit(model.sent ? AccountText.resend : AccountText.sendSignInCode, lang: lang, primary: !model.sent)]))
        main.append(.p(.a(.href("/signin"), .text(AccountText.passwordSignInLink(lang)))))
        return Layout.page(title: AccountText.codeSignInTitle, lang: lang, path: "/signin/code", main: .group(main))
    }

    struct AccountModel {
        var lang: Lang
        var csrf: String
        var account: Account
        /// Platforms waiting for the person to finish a verification they started there.
        var waiting: [(VerificationSession, Platform)] = []
    }

    static func account(_ model: AccountModel) -> HTML {
        let lang = model.lang
        let account = model.account
        let contactItems: [Node<HTML.BodyContext>] = account.maskedContacts.map { contact in
            let mark = contact.confirmed ? AccountText.confirmedMark(lang) : AccountText.unconfirmedMark(lang)
            let role = contact.role == "guardian" ? AccountText.guardianPhone(lang) + "：" : ""
            return Forms.element("li", [], [.text("\(role)\(contact.value)（\(mark)）")])
        }
        var links: [Node<HTML.BodyContext>] = [
            Forms.element("li", [], [Forms.element("a", [("href", "/cases")], [.text(CasePages.title(lang))])]),
            Forms.element("li", [], [Forms.element("a", [("href", "/account/profile")], [.text(PasswordText.profileTitle(lang))])]),
            Forms.element("li", [], [Forms.element("a", [("href", "/account/password")], [.text(PasswordText.changeTitle(lang))])]),
            Forms.element("li", [], [Forms.element("a", [("href", "/account/change-requests")], [.text(ChangeRequestPages.title(lang))])]),
        ]
        if account.kind == .staff {
            links.insert(Forms.element("li", [], [Forms.element("a", [("href", "/staff")], [.text(StaffText.desk(lang))])]), at: 0)
        }
        var frozen: Node<HTML.BodyContext> = .empty
        if account.status == .frozen {
            frozen = Forms.element("section", [("class", "notice error"), ("id", "frozen"), ("role", "alert")], [
                .p(.strong(.text(AccountText.frozenTitle(lang)))),
                .p(.text(account.statusReason.map { AccountText.frozenReason(lang) + $0 } ?? "")),
                .p(.text(AccountText.frozenHow(lang))),
                .p(.a(.class("button primary"), .href("/cases"), .text(CasePages.title(lang)))),
            ])
            // Frozen: the cases (to appeal) and feedback are all that is open.
            links = [Forms.element("li", [], [Forms.element("a", [("href", "/cases")], [.text(CasePages.title(lang))])])]
        }
        var unconfirmed: Node<HTML.BodyContext> = .empty
        if account.status == .pendingActivation {
            // Until a contact is confirmed the account may only confirm it (or sign out).
            let channel = account.phone != nil || account.guardianPhone != nil ? "sms" : "email"
            unconfirmed = Forms.element("section", [("class", "notice error"), ("id", "unconfirmed"), ("role", "alert")], [
                .p(.text(AccountText.unconfirmedLead(lang))),
                .p(.a(.class("button primary"), .href("/confirm?account=\(account.id.lowercasedText)&channel=\(channel)"),
                      .text(AccountText.confirmNow(lang)))),
            ])
            links = []
        }
        links.append(Forms.element("li", [], [Forms.element("a", [("href", "/account/platforms"), ("id", "authorised-platforms")],
                                                            [.text(GrantPages.title(lang))])]))
        if account.kind == .applicant {
            links.append(Forms.element("li", [], [Forms.element("a", [("href", "/account/consents"), ("id", "consents")],
                                                                [.text(ConsentPages.title(lang))])]))
        }
        links.append(Forms.element("li", [], [Forms.element("a", [("href", "/account/access-log"), ("id", "access-log")],
                                                            [.text(RightsPages.accessTitle(lang))])]))
        links.append(Forms.element("li", [], [Forms.element("a", [("href", "/account/export"), ("id", "export")],
                                                            [.text(RightsPages.exportTitle(lang))])]))
        links.append(Forms.element("li", [], [Forms.element("a", [("href", "/feedback?page=/account")], [.text(ReviewText.feedback(lang))])]))
        if account.kind == .applicant {
            links.append(Forms.element("li", [], [Forms.element("a", [("href", "/account/delete"), ("id", "delete-account")], [.text(DeletionPages.title(lang))])]))
        }
        return Layout.page(title: AccountText.accountTitle, lang: lang, path: "/account", signedIn: true, staff: account.kind == .staff, main: .group(
            .h1(.text(AccountText.accountTitle(lang))),
            frozen,
            unconfirmed,
            .group(HostedPages.waiting(model.waiting, lang: lang)),
            Forms.element("dl", [("class", "facts")], [
                Forms.element("dt", [], [.text(AccountText.usernameLabel(lang))]),
                Forms.element("dd", [], [.text(account.username ?? "—")]),
                Forms.element("dt", [], [.text(AccountText.status(lang))]),
                Forms.element("dd", [("data-status", account.status.rawValue)], [.text(AccountText.statusNames[account.status]?(lang) ?? "")]),
                Forms.element("dt", [], [.text(AccountText.contacts(lang))]),
                Forms.element("dd", [], [Forms.element("ul", [("class", "plain")], contactItems)]),
            ]),
            Forms.element("ul", [("class", "plain big-links")], links),
            Forms.form(action: "/signout", csrf: model.csrf, [Forms.submit(AccountText.signOut, lang: lang, primary: false)])
        ))
    }
}
