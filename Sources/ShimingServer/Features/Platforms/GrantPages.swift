import Foundation
import Plot
import ShimingCore
import Vapor

/// "Authorised platforms" on My account: each platform the person let ask about them, for
/// which claims, until when, how often it asked per day, and a button to withdraw.
enum GrantPages {
    static let title = LocalizedText("已授权的平台", "Authorised platforms")
    static let lead = LocalizedText("这些平台可以向实名平台查询您的核验结果，只能看到您同意的内容。撤回后平台就查不到了。",
                                    "These platforms may ask Shiming about your verification and see only what you agreed to. Once you withdraw, they can no longer ask.")
    static let none = LocalizedText("您还没有授权任何平台。", "You have not authorised any platform.")
    static let mayLearn = LocalizedText("可以知道", "May learn")
    static let purpose = LocalizedText("用途", "What for")
    static let granted = LocalizedText("授权时间", "Granted")
    static let until = LocalizedText("有效期至", "Valid until")
    static let lastAsked = LocalizedText("最近一次查询", "Last asked")
    static let never = LocalizedText("还没有查询过", "Not yet")
    static let asked = LocalizedText("查询记录（按天）", "Who asked, per day")
    static func times(_ count: Int) -> LocalizedText { LocalizedText("\(count) 次", count == 1 ? "once" : "\(count) times") }
    static let withdraw = LocalizedText("撤回授权", "Withdraw")
    static let withdrawn = LocalizedText("授权已撤回，该平台不能再查询您的信息。", "Withdrawn: the platform can no longer ask about you.")
    static let states: [String: LocalizedText] = [
        "active": LocalizedText("有效", "Active"), "withdrawn": LocalizedText("已撤回", "Withdrawn"),
        "expired": LocalizedText("已过期", "Expired"), "replaced": LocalizedText("已被新的授权取代", "Replaced by a newer grant"),
    ]

    static func page(_ grants: [PlatformViews.GrantBody], csrf: String, lang: Lang, notice: String?) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        if grants.isEmpty { main.append(.p(.text(none(lang)))) }
        for grant in grants {
            let id = grant.id.lowercasedText
            let claims = grant.claims.compactMap(PlatformClaim.init(rawValue:)).map { $0.label(lang) }.joined(separator: "；")
            var facts: [Node<HTML.BodyContext>] = [
                Forms.element("dt", [], [.text(StaffText.state(lang))]),
                Forms.element("dd", [("data-state", grant.state)], [.text(states[grant.state]?(lang) ?? grant.state)]),
                Forms.element("dt", [], [.text(purpose(lang))]), Forms.element("dd", [], [.text(grant.purpose)]),
                Forms.element("dt", [], [.text(mayLearn(lang))]), Forms.element("dd", [("class", "claims")], [.text(claims)]),
                Forms.element("dt", [], [.text(granted(lang))]), Forms.element("dd", [], [.text(StaffPages.time(grant.grantedAt))]),
                Forms.element("dt", [], [.text(until(lang))]), Forms.element("dd", [], [.text(StaffPages.time(grant.revokedAt ?? grant.expiresAt))]),
                Forms.element("dt", [], [.text(lastAsked(lang))]),
                Forms.element("dd", [("class", "last-asked")], [.text(grant.lastQueriedAt.map(StaffPages.time) ?? never(lang))]),
            ]
            if !grant.queries.isEmpty {
                facts += [Forms.element("dt", [], [.text(asked(lang))]),
                          Forms.element("dd", [], [Forms.element("ul", [("class", "plain queries")], grant.queries.prefix(14).map {
                              Forms.element("li", [("data-day", $0.day)], [.text("\($0.day)：\(times($0.count)(lang))")])
                          })])]
            }
            var card: [Node<HTML.BodyContext>] = [.h2(.text(grant.platform.name)), Forms.element("dl", [("class", "facts")], facts)]
            if grant.state == "active" {
                card.append(Forms.form(action: "/account/platforms/\(id)/withdraw", csrf: csrf, [Forms.submit(withdraw, lang: lang, primary: false)]))
            }
            main.append(Forms.element("section", [("class", "card"), ("data-grant", id)], card))
        }
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: title, lang: lang, path: "/account/platforms", signedIn: true, main: .group(main))
    }
}

/// `/account/platforms`: the page above, on `GrantService`.
struct WebGrantsController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "account", "platforms", access: .holder, use: list)
        routes.page(.POST, "account", "platforms", ":id", "withdraw", access: .holder, use: withdraw)
    }

    @Sendable func list(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        let now = features.grants.now
        let grants = try await features.grants.list(account: account).map { PlatformViews.GrantBody($0, at: now) }
        let notice = req.query[String.self, at: "done"] == "withdrawn" ? GrantPages.withdrawn(req.lang) : nil
        return WebController.html(GrantPages.page(grants, csrf: PageCSRF.token(for: req).0, lang: req.lang, notice: notice).render())
    }

    @Sendable func withdraw(_ req: Request) async throws -> Response {
        try await features.grants.withdraw(try req.uuidParameter(), account: try req.caller.account, ip: req.clientIP)
        return req.redirect(to: "/account/platforms?done=withdrawn", redirectType: .normal)
    }
}
