/// A piece of user-facing text in every supported language.
///
/// Texts live next to the code that produces them (errors, check reasons, page copy), so a
/// missing translation is a compile error rather than a blank on screen.
public struct LocalizedText: Sendable, Hashable, Codable {
    /// Simplified Chinese text.
    public var zh: String
    /// English text.
    public var en: String

    /// Creates a text from its Chinese and English versions.
    public init(_ zh: String, _ en: String) {
        self.zh = zh
        self.en = en
    }

    /// The text in the given language.
    public func callAsFunction(_ lang: Lang) -> String {
        switch lang {
        case .zhCN: zh
        case .en: en
        }
    }
}
