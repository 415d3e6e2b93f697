import Foundation
import Plot
import ShimingCore

/// 《用户协议》, 《隐私政策》 and the sensitive-data consent, shown from the deployment's consent
/// texts (`ConsentCatalog`), with their version, so the links on the forms open exactly what is
/// accepted.
enum LegalPages {
    static let termsTitle = LocalizedText("用户协议", "Terms of use")
    static let privacyTitle = LocalizedText("隐私政策", "Privacy policy")
    static let sensitiveTitle = LocalizedText("敏感个人信息处理同意书", "Sensitive data consent")

    static func page(_ text: ConsentText, lang: Lang, signedIn: Bool) -> HTML {
        let title = text.title(lang)
        let main: [Node<HTML.BodyContext>] = [
            .div(.class("legal"), .group(Markdown.nodes(text.markdown[lang] ?? "", headingOffset: 0))),
            .p(.class("lead"), .text(LocalizedText("版本 \(text.version)", "Version \(text.version)")(lang))),
        ]
        return Layout.page(title: LocalizedText(title, title), lang: lang, path: text.kind.path, signedIn: signedIn, main: .group(main))
    }
}

/// The small Markdown the consent texts are written in: `# `/`## `/`### ` headings, `- ` list
/// items, paragraphs separated by blank lines. Everything is text (escaped); no HTML passes.
enum Markdown {
    static func nodes(_ source: String, headingOffset: Int) -> [Node<HTML.BodyContext>] {
        var nodes: [Node<HTML.BodyContext>] = []
        var paragraph: [String] = []
        var items: [String] = []
        func flush() {
            if !paragraph.isEmpty { nodes.append(.p(.text(paragraph.joined(separator: " ")))); paragraph = [] }
            if !items.isEmpty { nodes.append(.ul(.forEach(items) { .li(.text($0)) })); items = [] }
        }
        for raw in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { flush(); continue }
            let hashes = line.prefix { $0 == "#" }.count
            if (1...3).contains(hashes), line.dropFirst(hashes).first == " " {
                flush()
                let text = String(line.dropFirst(hashes + 1))
                nodes.append(Forms.element("h\(min(hashes + headingOffset, 6))", [], [.text(text)]))
            } else if line.hasPrefix("- ") {
                if !paragraph.isEmpty { flush() }
                items.append(String(line.dropFirst(2)))
            } else {
                if !items.isEmpty { flush() }
                paragraph.append(line)
            }
        }
        flush()
        return nodes
    }
}
