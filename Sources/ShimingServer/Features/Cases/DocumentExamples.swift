import Plot
import ShimingCore

/// For each kind of document, a drawn example (never a real card) of what to photograph and
/// which page, with a line of words under it.
enum DocumentExamples {
    typealias Body = Node<HTML.BodyContext>

    static func what(_ kind: Program.DocumentKind) -> LocalizedText {
        switch kind {
        case .idFront: LocalizedText("拍身份证有照片的一面：四个角都拍进去，字要清楚，不要反光。", "The side of the ID card with your photo: all four corners in the picture, sharp, no glare.")
        case .idBack: LocalizedText("拍身份证有国徽的一面（有签发机关和有效期限）。", "The side of the ID card with the national emblem (issuing office and validity).")
        case .householdRegister: LocalizedText("拍户口簿的户主页和您本人的那一页，各拍一张，两张都上传。", "The household head's page and your own page of the household register: one photo each, upload both.")
        case .workProof: LocalizedText("拍单位开具的工作证明，有公章的那一页。", "The work certificate from your employer, the page with the official seal.")
        case .socialSecurity: LocalizedText("拍社保缴费记录，或社保卡有照片的一面。", "Your social-security contribution record, or the photo side of your social-security card.")
        case .businessLicence: LocalizedText("拍营业执照（正本或副本），统一社会信用代码要清楚。", "The business licence (original or copy), with the unified social credit code readable.")
        case .other: LocalizedText("其他能说明情况的材料。", "Any other document that explains your situation.")
        }
    }

    /// The drawing with its words, as a figure.
    static func figure(_ kind: Program.DocumentKind, lang: Lang) -> Body {
        let label = LocalizedText("示例图：", "Example: ")(lang) + kind.label(lang)
        return Forms.element("figure", [("class", "example"), ("data-example", kind.rawValue)], [
            Forms.element("svg", [("viewBox", "0 0 200 120"), ("width", "200"), ("height", "120"), ("role", "img"), ("aria-label", label),
                                  ("xmlns", "http://www.w3.org/2000/svg")], drawing(kind, lang: lang)),
            Forms.element("figcaption", [], [.text(what(kind)(lang))]),
        ])
    }

    static func shape(_ name: String, _ attributes: [(String, String)]) -> Body { Forms.void(name, attributes) }

    static func text(_ x: Int, _ y: Int, _ words: String, size: Int = 11) -> Body {
        Forms.element("text", [("x", String(x)), ("y", String(y)), ("font-size", String(size)), ("fill", "#333")], [.text(words)])
    }

    static func card(fill: String = "#eef4fb") -> Body {
        shape("rect", [("x", "10"), ("y", "10"), ("width", "180"), ("height", "100"), ("rx", "10"), ("fill", fill), ("stroke", "#0b57a4"), ("stroke-width", "2")])
    }

    static func lines(x: Int, from y: Int, count: Int, width: Int) -> [Body] {
        (0..<count).map { shape("rect", [("x", String(x)), ("y", String(y + $0 * 14)), ("width", String(width - $0 % 2 * 20)), ("height", "5"), ("fill", "#9bb5d1")]) }
    }

    static func drawing(_ kind: Program.DocumentKind, lang: Lang) -> [Body] {
        switch kind {
        case .idFront:
            return [card()] + lines(x: 24, from: 28, count: 5, width: 90)
                + [shape("rect", [("x", "132"), ("y", "24"), ("width", "44"), ("height", "56"), ("fill", "#c9d6e3"), ("stroke", "#0b57a4")]),
                   shape("circle", [("cx", "154"), ("cy", "45"), ("r", "11"), ("fill", "#8aa4bf")]),
                   shape("rect", [("x", "24"), ("y", "94"), ("width", "150"), ("height", "6"), ("fill", "#0b57a4")])]
        case .idBack:
            return [card(), shape("circle", [("cx", "42"), ("cy", "40"), ("r", "18"), ("fill", "#e8b923"), ("stroke", "#a30000"), ("stroke-width", "2")])]
                + lines(x: 70, from: 30, count: 2, width: 100) + lines(x: 24, from: 76, count: 2, width: 150)
        case .householdRegister:
            return [
                shape("rect", [("x", "8"), ("y", "10"), ("width", "88"), ("height", "100"), ("fill", "#fdf6e3"), ("stroke", "#7a4b00"), ("stroke-width", "2")]),
                shape("rect", [("x", "104"), ("y", "10"), ("width", "88"), ("height", "100"), ("fill", "#fdf6e3"), ("stroke", "#7a4b00"), ("stroke-width", "2")]),
                text(18, 30, LocalizedText("户主页", "Head's page")(lang)), text(114, 30, LocalizedText("本人页", "Your page")(lang)),
            ] + lines(x: 18, from: 44, count: 4, width: 66) + lines(x: 114, from: 44, count: 4, width: 66)
        case .businessLicence:
            return [shape("rect", [("x", "20"), ("y", "6"), ("width", "160"), ("height", "108"), ("fill", "#fff8f0"), ("stroke", "#a30000"), ("stroke-width", "3")]),
                    text(70, 26, LocalizedText("营业执照", "Licence")(lang), size: 14)]
                + lines(x: 36, from: 40, count: 4, width: 120)
                + [shape("circle", [("cx", "150"), ("cy", "94"), ("r", "12"), ("fill", "none"), ("stroke", "#a30000"), ("stroke-width", "2")])]
        case .workProof, .socialSecurity, .other:
            return [shape("rect", [("x", "50"), ("y", "6"), ("width", "100"), ("height", "108"), ("fill", "#ffffff"), ("stroke", "#0b57a4"), ("stroke-width", "2")])]
                + lines(x: 62, from: 20, count: 5, width: 76)
                + (kind == .workProof ? [shape("circle", [("cx", "124"), ("cy", "96"), ("r", "11"), ("fill", "none"), ("stroke", "#a30000"), ("stroke-width", "2")])] : [])
        }
    }
}
