import Foundation
import Plot
import ShimingCore

/// `index.html` in the person's data export: `data.json` laid out for reading, section by
/// section, with the documents shown and linked (they sit next to it in the ZIP). Made from
/// the same JSON, so the two cannot say different things. Self-contained: no script, no link
/// outside the ZIP.
enum ExportPage {
    static let title = LocalizedText("我的实名认证数据", "My identity verification data")
    static let lead = LocalizedText(
        "这是实名平台保存的关于您的全部信息，与同一压缩包中的 data.json 内容相同。请妥善保管。",
        "This is everything Shiming holds about you, the same as data.json in this ZIP. Keep it safe.")
    static let sections: [(key: String, title: LocalizedText)] = [
        ("account", LocalizedText("账户", "Account")), ("cases", LocalizedText("实名申请", "Applications")),
        ("changeRequests", LocalizedText("更正申请", "Change requests")), ("grants", LocalizedText("已授权的平台", "Authorised platforms")),
        ("feedback", LocalizedText("意见反馈", "Feedback")), ("messages", LocalizedText("发给您的短信和邮件", "Messages sent to you")),
        ("accessLog", LocalizedText("谁查看过我的信息", "Who looked at my data")), ("consents", LocalizedText("我的同意", "My consents")),
    ]

    static func render(json: Data, lang: Lang) -> String {
        let root: [String: JSONValue]
        if case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: json) { root = object } else { root = [:] }
        var body: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.text(lead(lang)))]
        if case .string(let at)? = root["exportedAt"] { body.append(.p(.text(at))) }
        for (key, heading) in sections {
            body.append(.h2(.text(heading(lang))))
            body.append(value(root[key] ?? .null))
        }
        let html = HTML(
            .lang(lang == .zhCN ? .chinese : .english),
            .head(.meta(.charset(.utf8)), .meta(.name("viewport"), .content("width=device-width, initial-scale=1")), .title(title(lang)),
                  .element(named: "style", text: "body{font:18px/1.6 system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}dl{margin:0 0 1rem 1rem}dt{font-weight:bold}img{max-width:100%}")),
            .body(.group(body))
        )
        return html.render()
    }

    /// Any JSON value as nested lists; a document's path as its picture and a link.
    static func value(_ value: JSONValue) -> Node<HTML.BodyContext> {
        switch value {
        case .object(let object):
            return Forms.element("dl", [], object.keys.sorted().flatMap { key -> [Node<HTML.BodyContext>] in
                [Forms.element("dt", [], [.text(key)]), Forms.element("dd", [], [field(key, object[key] ?? .null)])]
            })
        case .array(let array):
            return array.isEmpty ? .text("—") : Forms.element("ol", [], array.map { Forms.element("li", [], [Self.value($0)]) })
        case .null: return .text("—")
        case .bool(let flag): return .text(flag ? "true" : "false")
        case .number(let number): return .text(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number))
        case .string(let text): return .text(text)
        }
    }

    static func field(_ key: String, _ value: JSONValue) -> Node<HTML.BodyContext> {
        guard key == "path", case .string(let path) = value else { return Self.value(value) }
        let link = Forms.element("a", [("href", path)], [.text(path)])
        guard path.hasSuffix(".jpg") || path.hasSuffix(".png") else { return link }
        return .group(Forms.element("img", [("src", path), ("alt", path)], []), .br(), link)
    }
}

/// A JSON value, decoded without losing whether it was a boolean or a number.
enum JSONValue: Decodable {
    case object([String: JSONValue])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let flag = try? single.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? single.decode(Double.self) { self = .number(number) }
        else if let text = try? single.decode(String.self) { self = .string(text) }
        else if let array = try? single.decode([JSONValue].self) { self = .array(array) }
        else { self = .object(try single.decode([String: JSONValue].self)) }
    }
}
