import ShimingCore
import Vapor

extension Request {
    /// The cookie that remembers a chosen interface language.
    static let langCookie = "shiming_lang"

    /// The language to answer in: the language cookie, else `Accept-Language`, else Chinese.
    public var lang: Lang {
        if let chosen = cookies[Request.langCookie]?.string, let lang = Lang(rawValue: chosen) {
            return lang
        }
        if let header = headers.first(name: .acceptLanguage), let lang = Lang.negotiate(acceptLanguage: header) {
            return lang
        }
        return .default
    }

    /// Whether the client wants an HTML page rather than JSON (browsers navigating to a page).
    var prefersHTML: Bool {
        if url.path.hasPrefix("/api/") { return false }
        return headers.first(name: .accept)?.contains("text/html") ?? false
    }
}

extension String {
    /// This text as one query value (`?next=…`): everything but letters, digits and `-_.` escaped.
    var queryValue: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? ""
    }
}

extension Request {
    /// The sign-in page, continuing at `next` (a path on this site) once signed in.
    static func signInPath(next: String) -> String { "/signin?next=\(next.queryValue)" }

    func redirectToSignIn(next: String) -> Response {
        redirect(to: Self.signInPath(next: next), redirectType: .normal)
    }
}
