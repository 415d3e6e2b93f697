import Foundation
import IdentityRules
import Plot
import ShimingCore
import Vapor

/// "My consents" on My account: each text with where the person stands, the new versions to
/// accept (the page a changed text sends signed-in applicants to), withdrawal of the
/// sensitive-data consent, and every acceptance they gave.
enum ConsentPages {
    static let title = LocalizedText("我的同意", "My consents")
    static let lead = LocalizedText(
        "这里列出您同意过的用户协议、隐私政策和敏感个人信息处理同意书，每一次同意的版本和时间都有记录。",
        "The terms, the privacy policy and the sensitive-data consent you accepted, with the version and time of every acceptance.")
    static let updated = LocalizedText("以下文本有了新版本。请阅读后勾选同意，才能继续使用。", "These texts have a new version. Read them and tick to accept before you go on.")
    static let acceptVersion = LocalizedText("我已阅读并同意这一版本", "I have read and accept this version")
    static let acceptButton = LocalizedText("同意并继续", "Accept and continue")
    static let acceptSensitiveBefore = LocalizedText("我单独同意处理我的敏感个人信息（证件号码、证件照片）：", "I separately consent to the processing of my sensitive data (document number, document photos):")
    static let sensitiveLink = LocalizedText("《敏感个人信息处理同意书》", " the sensitive-data consent")
    static let sensitiveLater = LocalizedText("也可以在开始实名认证时再决定。", "You may also decide when you start a verification.")
    static let sensitiveLead = LocalizedText(
        "实名认证要处理您的证件号码和证件照片，这是敏感个人信息，需要您单独同意。同意后即可选择认证项目。",
        "Verification processes your document number and photos. That is sensitive personal data and needs your separate consent; then choose a program.")
    static let withdrawButton = LocalizedText("撤回同意", "Withdraw consent")
    static let withdrawWarning = LocalizedText("撤回后，尚未办结的实名申请会停止处理，也不能开始新的申请，直到您重新同意。",
                                               "Your unfinished applications then stop, and you cannot start a new one until you consent again.")
    static let withdrawn = LocalizedText("已撤回。", "Withdrawn.")
    static let codeSent = LocalizedText("验证码已发送到监护人手机。", "The code was sent to your guardian's phone.")
    static let history = LocalizedText("同意记录", "Record of consents")
    static let guardian = LocalizedText("监护人", "Guardian")
    static let you = LocalizedText("本人", "You")
    static let states: [ConsentService.Status.State: LocalizedText] = [
        .accepted: LocalizedText("已同意", "Accepted"), .outdated: LocalizedText("有新版本，待同意", "New version to accept"),
        .missing: LocalizedText("未同意", "Not given"), .withdrawn: LocalizedText("已撤回", "Withdrawn"),
    ]

    /// A consent checkbox with its label and error.
    static func checkbox(name: String, checked: Bool, error: String?, _ label: [Node<HTML.BodyContext>]) -> Node<HTML.BodyContext> {
        Forms.element("div", [("class", error == nil ? "field check" : "field check has-error")], [
            Forms.element("label", [("for", "field-\(name)")], [
                Forms.void("input", [("type", "checkbox"), ("id", "field-\(name)"), ("name", name), ("value", "true")] + (checked ? [("checked", "checked")] : [])),
            ] + label),
        ] + (error.map { [Forms.element("p", [("class", "field-error")], [.text($0)])] } ?? []))
    }

    /// The separate sensitive-data consent (registration, the first application).
    static func sensitiveCheckbox(checked: Bool, error: String?, later: Bool, lang: Lang) -> Node<HTML.BodyContext> {
        checkbox(name: "acceptSensitive", checked: checked, error: error, [
            .text(" " + acceptSensitiveBefore(lang)),
            .a(.href("/sensitive-data"), .target(.blank), .text(sensitiveLink(lang))),
            .if(later, .text(" " + sensitiveLater(lang))),
        ])
    }

    struct Model {
        var statuses: [ConsentService.Status]
        var history: [ConsentAcceptance]
        var pending: [ConsentKind]
        var next: String?
        var csrf: String
        var lang: Lang
        var notice: String?
        var error: String?
        /// For a pupil registered with the guardian's phone: that phone, masked (their consents need the guardian's code).
        var guardian: String? = nil
        var errors: [String: String] = [:]
    }

    static let guardianLead = LocalizedText("您的账号用监护人手机号注册，同意须由监护人确认：先把验证码发到监护人手机", "Your account was registered with your guardian's phone, so your guardian confirms consents: first send a code to their phone")
    static let sendCode = LocalizedText("发送验证码给监护人", "Send the code to my guardian")
    static let guardianCode = LocalizedText("监护人收到的验证码", "The code your guardian received")

    /// The guardian's code field, for the accept forms of a pupil's account.
    static func guardianField(_ model: Model) -> [Node<HTML.BodyContext>] {
        guard model.guardian != nil else { return [] }
        return [Forms.field(.init(name: "guardianCode", label: guardianCode, type: "text", autocomplete: "one-time-code", inputMode: "numeric"),
                            error: model.errors["guardianCode"].map { Forms.message(for: $0, lang: model.lang) }, lang: model.lang)]
    }

    static func page(_ model: Model) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: "success")) }
        if let error = model.error { main.append(Forms.notice(error, kind: "error")) }
        if let guardian = model.guardian {
            main.append(Forms.element("section", [("class", "card"), ("id", "guardian-consent")], [
                .p(.text(guardianLead(lang) + " \(guardian)。")),
                Forms.form(action: "/account/consents/guardian-code", csrf: model.csrf,
                           (model.next.map { [Forms.void("input", [("type", "hidden"), ("name", "next"), ("value", $0)])] } ?? [])
                           + [Forms.submit(sendCode, lang: lang, primary: false)]),
            ]))
        }
        let pending = model.statuses.filter { model.pending.contains($0.text.kind) }
        if !pending.isEmpty {
            var fields: [Node<HTML.BodyContext>] = [.p(.text(updated(lang)))]
            for status in pending {
                let kind = status.text.kind.rawValue
                // The text scrolls in its own box, so the checkbox stays near on a phone.
                fields.append(Forms.element("section", [("class", "card consent-text"), ("id", "text-\(kind)")], [
                    Forms.element("div", [("class", "consent-body"), ("tabindex", "0"), ("role", "region"), ("aria-label", status.text.title(lang))],
                                  Markdown.nodes(status.text.markdown[lang] ?? "", headingOffset: 1)),
                    .p(.class("hint"), .text(LocalizedText("版本 \(status.text.version)", "Version \(status.text.version)")(lang))),
                    Forms.void("input", [("type", "hidden"), ("name", "version-\(kind)"), ("value", status.text.version)]),
                    Forms.void("input", [("type", "hidden"), ("name", "hash-\(kind)"), ("value", status.text.hash)]),
                    checkbox(name: "accept-\(kind)", checked: false, error: nil, [.text(" " + acceptVersion(lang) + "：" + status.text.title(lang))]),
                ]))
            }
            if let next = model.next { fields.append(Forms.void("input", [("type", "hidden"), ("name", "next"), ("value", next)])) }
            fields += guardianField(model)
            fields.append(Forms.submit(acceptButton, lang: lang))
            main.append(Forms.form(action: "/account/consents", csrf: model.csrf, fields))
        }
        main.append(Forms.element("ul", [("class", "plain consents")], model.statuses.map { status in
            let kind = status.text.kind
            var lines: [Node<HTML.BodyContext>] = [
                Forms.element("strong", [], [.a(.href(kind.path), .text(status.text.title(lang)))]),
                .text(" · "),
                Forms.element("span", [("class", "consent-state"), ("data-state", status.state.rawValue)], [.text(states[status.state]?(lang) ?? "")]),
            ]
            if let latest = status.latest, status.state != .missing {
                lines.append(.p(.class("hint"), .text(LocalizedText("版本 \(latest.version)，\(StaffPages.time(latest.acceptedAt))",
                                                                    "Version \(latest.version), \(StaffPages.time(latest.acceptedAt))")(lang))))
            }
            if kind == .sensitive, status.state == .accepted {
                lines.append(.p(.text(withdrawWarning(lang))))
                lines.append(Forms.form(action: "/account/consents/sensitive/withdraw", csrf: model.csrf, [Forms.submit(withdrawButton, lang: lang, primary: false)]))
            }
            if kind == .sensitive, status.state == .missing || status.state == .withdrawn {
                lines.append(Forms.form(action: "/account/consents", csrf: model.csrf, [
                    Forms.void("input", [("type", "hidden"), ("name", "version-sensitive"), ("value", status.text.version)]),
                    checkbox(name: "accept-sensitive", checked: false, error: nil, [.text(" " + acceptVersion(lang))]),
                ] + guardianField(model) + [Forms.submit(acceptButton, lang: lang, primary: false)]))
            }
            return Forms.element("li", [("class", "card"), ("data-kind", kind.rawValue)], lines)
        }))
        if !model.history.isEmpty {
            main.append(.h2(.text(history(lang))))
            main.append(Forms.element("ul", [("class", "plain consent-history")], model.history.map { item in
                let by = item.givenBy == .guardian ? guardian(lang) : you(lang)
                var text = "\(StaffPages.time(item.acceptedAt)) · \(model.statuses.first { $0.text.kind == item.kind }?.text.title(lang) ?? item.kind.rawValue)"
                text += " · " + LocalizedText("版本 \(item.version)", "version \(item.version)")(lang) + " · \(by)"
                if let withdrawnAt = item.withdrawnAt { text += " · " + LocalizedText("\(StaffPages.time(withdrawnAt)) 撤回", "withdrawn \(StaffPages.time(withdrawnAt))")(lang) }
                return Forms.element("li", [("data-kind", item.kind.rawValue)], [.text(text)])
            }))
        }
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: title, lang: lang, path: "/account/consents", signedIn: true, main: .group(main))
    }
}

/// `/account/consents`: the page above, on `ConsentService`; where `PageGuard` sends an
/// applicant who has a changed text to accept.
struct WebConsentsController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "account", "consents", access: .holder, use: show)
        routes.page(.POST, "account", "consents", access: .holder, use: accept)
        routes.page(.POST, "account", "consents", "sensitive", "withdraw", access: .holder, use: withdraw)
        routes.page(.POST, "account", "consents", "guardian-code", access: .holder, use: sendGuardianCode)
    }

    func render(_ req: Request, account: Account, notice: String? = nil, error: UserFacingError? = nil, status: HTTPStatus = .ok,
                next: String? = nil) async throws -> Response {
        let (statuses, history) = try await features.consents.overview(account)
        var model = ConsentPages.Model(
            statuses: statuses, history: history, pending: req.shiming.consents.pending(account),
            next: next ?? req.query[String.self, at: "next"].map(WebController.safeRedirectTarget), csrf: PageCSRF.token(for: req).0,
            lang: req.lang, notice: notice, error: error?.message(req.lang)
        )
        model.errors = error?.fields ?? [:]
        if ConsentService.needsGuardian(account), let phone = account.guardianPhone { model.guardian = MobileNumber.mask(phone) }
        return WebController.html(ConsentPages.page(model).render(), status: status)
    }

    @Sendable func show(_ req: Request) async throws -> Response {
        let notice: String? = switch req.query[String.self, at: "done"] {
        case "withdrawn": ConsentPages.withdrawn(req.lang)
        case "code-sent": ConsentPages.codeSent(req.lang)
        default: nil
        }
        return try await render(req, account: try req.caller.account, notice: notice)
    }

    @Sendable func accept(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        var versions: [ConsentKind: String] = [:]
        var hashes: [ConsentKind: String] = [:]
        for kind in ConsentKind.allCases where (try? req.content.get(String.self, at: "accept-\(kind.rawValue)")) == "true" {
            versions[kind] = (try? req.content.get(String.self, at: "version-\(kind.rawValue)")) ?? ""
            hashes[kind] = try? req.content.get(String.self, at: "hash-\(kind.rawValue)")
        }
        let next = WebController.safeRedirectTarget((try? req.content.get(String.self, at: "next")) ?? "/account/consents")
        return try await PageAction.run {
            guard !versions.isEmpty else {
                throw UserFacingError(code: "invalid_input", kind: .invalidInput,
                                      message: LocalizedText("请勾选同意每一份文本。", "Tick each text to accept it."))
            }
            try await features.consents.accept(versions, hashes: hashes, account: account, client: req.consentClient(.web),
                                               guardianCode: try? req.content.get(String.self, at: "guardianCode"))
            return req.redirect(to: next, redirectType: .normal)
        } refused: { error in
            try await render(req, account: account, error: error, status: error.kind.status, next: next)
        }
    }

    @Sendable func sendGuardianCode(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        let next = (try? req.content.get(String.self, at: "next")).map(WebController.safeRedirectTarget)
        return try await PageAction.run {
            _ = try await features.consents.sendGuardianCode(account: account, ip: req.clientIP)
            let query = next.flatMap { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) }.map { "&next=\($0)" } ?? ""
            return req.redirect(to: "/account/consents?done=code-sent\(query)", redirectType: .normal)
        } refused: { error in
            try await render(req, account: account, error: error, status: error.kind.status, next: next)
        }
    }

    @Sendable func withdraw(_ req: Request) async throws -> Response {
        _ = try await features.consents.withdraw(.sensitive, account: try req.caller.account, client: req.consentClient(.web), cases: features.cases)
        return req.redirect(to: "/account/consents?done=withdrawn", redirectType: .normal)
    }
}

extension Request {
    /// Where a consent given in this request came from.
    func consentClient(_ channel: ConsentAcceptance.Channel) -> ConsentService.Client {
        ConsentService.Client(channel: channel, ip: clientIP, userAgent: headers.first(name: .userAgent))
    }
}
