import NIOHTTP1
import Plot
import ShimingCore

/// The page a browser sees when something cannot be shown.
struct ErrorPage {
    var status: HTTPResponseStatus
    var message: String
    var lang: Lang
    var path: String
    /// Where the person can go from here, besides home (sign in, their account).
    var action: (LocalizedText, String)?
    /// The deployment's help line (`SHIMING_HELP_PHONE`).
    var helpPhone: String?

    init(status: HTTPResponseStatus, message: String, lang: Lang, path: String, action: (LocalizedText, String)? = nil, helpPhone: String? = nil) {
        self.status = status
        self.message = message
        self.lang = lang
        self.path = path
        self.action = action
        self.helpPhone = helpPhone
    }

    func render() -> String {
        let title = LocalizedText("出错了", "Something went wrong")
        var buttons: [Node<HTML.BodyContext>] = []
        if let (label, href) = action { buttons.append(.a(.class("button primary"), .href(href), .text(label(lang)))) }
        buttons.append(.a(.class("button"), .href("/"), .text(WebText.home(lang))))
        return Layout.page(title: title, lang: lang, path: path, main: .group(
            .h1(.text(title(lang))),
            .p(.class("lead"), .text(message)),
            .p(.class("error-code"), .text("HTTP \(status.code)")),
            Layout.helpLine(helpPhone, lang: lang),
            .p(.class("actions"), .group(buttons))
        )).render()
    }
}
