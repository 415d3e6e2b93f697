import Foundation
import Plot
import ShimingCore

/// The pages a platform's user sees at `/verify/{id}`: who asks, sign in or register, apply or
/// wait, and the consent screen that says in plain words which platform asks for what, for what
/// purpose and until when.
enum HostedPages {
    static let title = LocalizedText("实名核验授权", "Share your verification")
    static func asks(_ name: String) -> LocalizedText { LocalizedText("「\(name)」请您完成实名核验", "\(name) asks you to verify your identity") }
    static let purposeLabel = LocalizedText("用途", "What for")
    static let signInFirst = LocalizedText("请先登录实名平台的账号；还没有账号可以先注册。完成后会自动回到这里。",
                                           "Sign in to your Shiming account first, or register one; you come back here afterwards.")
    static let signIn = LocalizedText("登录", "Sign in")
    static let register = LocalizedText("注册新账号", "Register")
    static let willLearn = LocalizedText("同意后，该平台可以知道：", "If you agree, the platform may learn:")
    static let neverShared = LocalizedText("您的证件号码和证件照片不会提供给任何平台。", "Your document number and photos are never shared with any platform.")
    static let validUntil = LocalizedText("授权有效期至", "Valid until")
    static let withdrawAnyTime = LocalizedText("您可以随时在“我的账号 → 已授权的平台”中撤回授权。",
                                               "You can withdraw it at any time under My account → Authorised platforms.")
    static let agree = LocalizedText("同意并返回", "Agree and go back")
    static let decline = LocalizedText("不同意", "Decline")
    static let apply = LocalizedText("开始实名认证", "Start verification")
    static let applyLead = LocalizedText("您还没有该平台认可的实名认证。请先完成认证，通过后回到这里授权。",
                                         "You hold no verification this platform accepts yet. Complete one, then come back here to share it.")
    static let waitingLead = LocalizedText("您的认证申请还在处理中。通过后我们会通知您，届时请回到这个页面完成授权（24 小时内有效）。",
                                           "Your application is still being handled. We will tell you when it is verified; then come back to this page to share it (valid for 24 hours).")
    static let openCase = LocalizedText("查看我的申请", "Open my application")
    static let backPending = LocalizedText("先返回平台", "Go back to the platform for now")
    static let closedTitle = LocalizedText("这个核验链接已不能使用", "This verification link can no longer be used")
    static let closed: [VerificationSessionStatus: LocalizedText] = [
        .verified: LocalizedText("您已经完成授权。", "You have already shared your verification."),
        .declined: LocalizedText("您已经拒绝了这次授权。", "You declined this request."),
        .expired: LocalizedText("链接已超过 24 小时有效期。", "The link was valid for 24 hours and has run out."),
        .cancelled: LocalizedText("平台已取消这次核验，或链接已由其他账号使用。", "The platform cancelled it, or another account has used the link."),
    ]
    static let startAgain = LocalizedText("请回到原平台重新发起核验。", "Please start again from the platform.")
    static let backToPlatform = LocalizedText("返回平台", "Back to the platform")
    static func waitingBanner(_ name: String) -> LocalizedText {
        LocalizedText("「\(name)」正在等待您的实名核验结果。", "\(name) is waiting for your verification.")
    }
    static let continueLink = LocalizedText("继续授权", "Continue")

    enum Body {
        case signIn
        case consent(claims: [PlatformClaim], until: Date)
        case waiting(caseID: UUID)
        case apply(program: String)
        case closed(VerificationSessionStatus, back: String?)
    }

    struct Model {
        var lang: Lang
        var csrf: String
        var session: VerificationSession
        var platform: Platform
        var signedIn: Bool
        var body: Body
        var error: String?
    }

    static func page(_ model: Model) -> HTML {
        let lang = model.lang, id = model.session.id.lowercasedText, path = "/verify/\(id)"
        var main: [Node<HTML.BodyContext>] = []
        if case .closed(let status, let back) = model.body {
            main.append(.h1(.text(closedTitle(lang))))
            main.append(Forms.element("p", [("class", "lead"), ("id", "session-closed"), ("data-status", status.rawValue)],
                                      [.text((closed[status]?(lang) ?? "") + " " + startAgain(lang))]))
            if let back { main.append(.p(Forms.element("a", [("class", "button"), ("id", "back-to-platform"), ("href", back)], [.text(backToPlatform(lang))]))) }
            return Layout.page(title: closedTitle, lang: lang, path: path, signedIn: model.signedIn, main: .group(main))
        }
        main.append(.h1(.id("platform-asks"), .text(asks(model.platform.name)(lang))))
        main.append(Forms.element("p", [("class", "lead")], [.strong(.text(purposeLabel(lang) + "：")), .text(model.platform.purpose)]))
        if let error = model.error { main.append(Forms.notice(error, kind: "error")) }
        switch model.body {
        case .signIn:
            main.append(.p(.text(signInFirst(lang))))
            main.append(.p(Forms.element("a", [("class", "button primary"), ("id", "hosted-signin"), ("href", "/signin?next=\(path)")], [.text(signIn(lang))]),
                           .text(" "), Forms.element("a", [("class", "button"), ("id", "hosted-register"), ("href", "/register")], [.text(register(lang))])))
        case .consent(let claims, let until):
            main.append(.h2(.text(willLearn(lang))))
            main.append(Forms.element("ul", [("class", "claims"), ("id", "claims")], claims.map {
                Forms.element("li", [("data-claim", $0.rawValue)], [.text($0.label(lang))])
            }))
            main.append(.p(.text(neverShared(lang))))
            main.append(.p(.text(validUntil(lang) + " " + StaffPages.time(until)), .text(" · "), .text(withdrawAnyTime(lang))))
            main.append(Forms.form(action: "\(path)/consent", csrf: model.csrf, [
                Forms.element("button", [("type", "submit"), ("class", "primary"), ("name", "decision"), ("value", "grant"), ("id", "consent-grant")],
                              [.text(agree(lang))]),
                .text(" "),
                Forms.element("button", [("type", "submit"), ("name", "decision"), ("value", "decline"), ("id", "consent-decline")],
                              [.text(decline(lang))]),
            ]))
        case .waiting(let caseID):
            main.append(.p(.text(waitingLead(lang))))
            main.append(.p(Forms.element("a", [("class", "button primary"), ("id", "open-case"), ("href", "/cases/\(caseID.lowercasedText)")],
                                         [.text(openCase(lang))]),
                           .text(" "),
                           Forms.element("a", [("class", "button"), ("id", "back-pending"), ("href", model.session.returnLocation(.pending))],
                                         [.text(backPending(lang))])))
        case .apply(let program):
            main.append(.p(.text(applyLead(lang))))
            main.append(Forms.form(action: "/cases", csrf: model.csrf, [
                Forms.void("input", [("type", "hidden"), ("name", "program"), ("value", program)]),
                Forms.element("button", [("type", "submit"), ("class", "primary"), ("id", "hosted-apply")], [.text(apply(lang))]),
            ]))
            main.append(.p(Forms.element("a", [("class", "button"), ("id", "back-pending"), ("href", model.session.returnLocation(.pending))],
                                         [.text(backPending(lang))])))
        case .closed: break
        }
        return Layout.page(title: title, lang: lang, path: path, signedIn: model.signedIn, main: .group(main))
    }

    /// "The platform is waiting" banners on the applicant's pages, each linking back to its session.
    static func waiting(_ sessions: [(VerificationSession, Platform)], lang: Lang) -> [Node<HTML.BodyContext>] {
        sessions.map { session, platform in
            Forms.element("p", [("class", "notice ok"), ("data-session", session.id.lowercasedText)], [
                .text(waitingBanner(platform.name)(lang) + " "),
                Forms.element("a", [("href", "/verify/\(session.id.lowercasedText)"), ("class", "continue-session")], [.text(continueLink(lang))]),
            ])
        }
    }
}
