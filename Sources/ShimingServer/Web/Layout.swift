import Foundation
import Plot
import Vapor
import ShimingCore

/// The frame around every page: language, viewport for phones, the stylesheet, a header with
/// the language switch, and a footer. No scripts, fonts or styles from anywhere else.
enum Layout {
    /// A whole page with the given title and main content.
    static func page(
        title: LocalizedText,
        lang: Lang,
        path: String,
        signedIn: Bool = false,
        staff: Bool = false,
        main: Node<HTML.BodyContext>
    ) -> HTML {
        let elder = PageMode.elder
        return HTML(
            .attribute(named: "lang", value: lang.rawValue),
            .if(elder, .class("elder")),
            .head(
                .meta(.charset(.utf8)),
                .meta(.name("viewport"), .content("width=device-width, initial-scale=1")),
                .title("\(title(lang)) · \(WebText.brand(lang))"),
                .link(.rel(.stylesheet), .href(Stylesheet.path)),
                .script(.src(Script.path), .attribute(named: "defer", value: "defer"))
            ),
            .body(
                .a(.class("skip"), .href("#main"), .text(WebText.skipToContent(lang))),
                .header(
                    .class("site"),
                    .a(.class("brand"), .href("/"), .text(WebText.brand(lang))),
                    .nav(
                        .attribute(named: "aria-label", value: WebText.navigation(lang)),
                        .if(staff, .a(.href("/staff"), .text(StaffText.desk(lang)))),
                        signedIn
                            ? .a(.href("/account"), .text(WebText.myAccount(lang)))
                            : .a(.href("/signin"), .text(WebText.signIn(lang))),
                        languageSwitch(current: lang, path: path),
                        elderSwitch(on: elder, lang: lang, path: path)
                    )
                ),
                .main(.id("main"), main),
                .footer(
                    .class("site"),
                    .if(signedIn, .p(.a(.id("feedback-link"), .href("/feedback?page=\(path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? "/")"),
                                       .text(ReviewText.feedback(lang))))),
                    .p(.text(WebText.footer(lang))),
                    .p(.a(.href("/terms"), .text(LegalPages.termsTitle(lang))), .text(" · "), .a(.href("/privacy"), .text(LegalPages.privacyTitle(lang))),
                       .text(" · "), .a(.href("/sensitive-data"), .text(LegalPages.sensitiveTitle(lang))))
                )
            )
        )
    }

    /// "Questions? Call …" on waiting and error pages, when the deployment has a help line.
    static func helpLine(_ phone: String?, lang: Lang) -> Node<HTML.BodyContext> {
        guard let phone else { return .empty }
        let digits = phone.filter { $0.isNumber || $0 == "+" }
        return .p(.class("help-line"), .text(WebText.helpLine(lang) + " "), .a(.href("tel:\(digits)"), .class("nowrap"), .text(phone)))
    }

    /// The switch between standard and large type (大字版), kept in a cookie.
    static func elderSwitch(on: Bool, lang: Lang, path: String) -> Node<HTML.BodyContext> {
        .a(.class("elder-switch"), .id("elder-switch"), .href("/elder/\(on ? "off" : "on")?next=\(path.queryValue)"),
           .text((on ? WebText.standardMode : WebText.elderMode)(lang)))
    }

    /// A link to the same page in the other language.
    static func languageSwitch(current: Lang, path: String) -> Node<HTML.BodyContext> {
        let other: Lang = current == .zhCN ? .en : .zhCN
        let label = other == .en ? "English" : "中文"
        return .a(
            .class("lang"),
            .href("/lang/\(other.rawValue)?next=\(path.queryValue)"),
            .attribute(named: "hreflang", value: other.rawValue),
            .attribute(named: "lang", value: other.rawValue),
            .text(label)
        )
    }
}

/// Texts shared by every page.
enum WebText {
    static let brand = LocalizedText("实名认证", "Shiming")
    static let skipToContent = LocalizedText("跳到正文", "Skip to content")
    static let navigation = LocalizedText("主导航", "Main navigation")
    static let signIn = LocalizedText("登录", "Sign in")
    static let register = LocalizedText("注册", "Register")
    static let myAccount = LocalizedText("我的账号", "My account")
    static let home = LocalizedText("返回首页", "Back to the home page")
    static let elderMode = LocalizedText("大字版", "Large type")
    static let standardMode = LocalizedText("标准版", "Standard type")
    static let helpLine = LocalizedText("遇到困难？请拨打服务电话：", "Need help? Call us:")
    static let footer = LocalizedText(
        "您的个人信息加密保存，页面上只显示部分内容，每次查看都有记录。",
        "Your personal data is stored encrypted, shown only masked, and every look at it is recorded."
    )
}

/// How the pages of one request are shown: in large type (长辈版) when the visitor chose it.
/// Set per request by `PageModeMiddleware`, read by `Layout` while the page is rendered.
enum PageMode {
    static let cookie = "shiming_elder"
    @TaskLocal static var elder = false
}

/// Reads the large-type choice from its cookie for the rest of the request.
struct PageModeMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        try await PageMode.$elder.withValue(request.cookies[PageMode.cookie]?.string == "1") {
            try await next.respond(to: request)
        }
    }
}
