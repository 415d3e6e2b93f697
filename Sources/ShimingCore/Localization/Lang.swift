import Foundation

/// A user-interface language. Simplified Chinese is the default everywhere.
public enum Lang: String, Sendable, CaseIterable, Codable {
    case zhCN = "zh-CN"
    case en

    /// The language used when nothing else is known about the user.
    public static let `default`: Lang = .zhCN

    /// Parses a language tag loosely: `zh`, `zh-CN`, `zh_Hans` → Chinese; `en`, `en-GB` → English.
    public init?(tag: String) {
        let lower = tag.trimmingCharacters(in: .whitespaces).lowercased()
        if lower == "zh" || lower.hasPrefix("zh-") || lower.hasPrefix("zh_") {
            self = .zhCN
        } else if lower == "en" || lower.hasPrefix("en-") || lower.hasPrefix("en_") {
            self = .en
        } else {
            return nil
        }
    }

    /// Picks the best supported language from an HTTP `Accept-Language` header value,
    /// honouring q-values; `nil` when the header names no supported language.
    public static func negotiate(acceptLanguage header: String) -> Lang? {
        var best: (lang: Lang, quality: Double, position: Int)?
        for (position, part) in header.split(separator: ",").enumerated() {
            let pieces = part.split(separator: ";")
            guard let tag = pieces.first, let lang = Lang(tag: String(tag)) else { continue }
            var quality = 1.0
            for parameter in pieces.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces) == "q" {
                    quality = Double(pair[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
            guard quality > 0 else { continue }
            if let current = best, current.quality >= quality { continue }
            best = (lang, quality, position)
        }
        return best?.lang
    }
}
