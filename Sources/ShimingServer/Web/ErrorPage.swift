import NIOHTTP1
import Plot
import ShimingCore

/// The page a browser sees when something cannot be shown.
struct ErrorPage {
    var status: HTTPResponseStatus
    var message: String
    var lang: Lang
    var path: String

    func render() -> String {
        let title = LocalizedText("出错了", "Something went wrong")
        return Layout.page(title: title, lang: lang, path: path, main: .group(
            .h1(.text(title(lang))),
            .p(.class("lead"), .text(message)),
            .p(.class("error-code"), .text("HTTP \(status.code)")),
            .p(.a(.class("button"), .href("/"), .text(WebText.home(lang))))
        )).render()
    }
}
