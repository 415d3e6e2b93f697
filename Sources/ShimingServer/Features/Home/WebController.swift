import Crypto
import Foundation
import Plot
import ShimingCore
import Vapor

/// The public web shell: home page, language switch, stylesheet.
struct WebController {
    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, access: .everyone, use: home)
        routes.page(.GET, "lang", ":code", access: .everyone, use: switchLanguage)
        routes.page(.GET, "assets", "shiming.css", access: .everyone, use: stylesheet)
        routes.page(.GET, "assets", "shiming.js", access: .everyone, use: script)
        routes.page(.GET, "elder", ":mode", access: .everyone, use: switchElderMode)
        routes.page(.GET, "terms", access: .everyone, use: terms)
        routes.page(.GET, "privacy", access: .everyone, use: privacy)
        routes.page(.GET, "sensitive-data", access: .everyone, use: sensitive)
        routes.page(.GET, "programs", access: .everyone, use: programs)
    }

    /// The programs on offer and what each asks for.
    @Sendable func programs(_ req: Request) async throws -> Response {
        Self.html(ProgramPages.list(req.shiming.programs.programs, lang: req.lang, signedIn: req.authenticated != nil).render())
    }

    @Sendable func terms(_ req: Request) async throws -> Response { legal(.terms, req) }
    @Sendable func privacy(_ req: Request) async throws -> Response { legal(.privacy, req) }
    @Sendable func sensitive(_ req: Request) async throws -> Response { legal(.sensitive, req) }

    private func legal(_ kind: ConsentKind, _ req: Request) -> Response {
        Self.html(LegalPages.page(req.shiming.consents.text(kind), lang: req.lang, signedIn: req.authenticated != nil).render())
    }

    /// Large type on or off (大字版 / 长辈版), remembered in a cookie; back to the same page.
    @Sendable func switchElderMode(_ req: Request) async throws -> Response {
        guard let mode = req.parameter("mode"), ["on", "off"].contains(mode) else { throw CommonErrors.notFound }
        let response = req.redirect(to: Self.safeRedirectTarget(req.query[String.self, at: "next"]), redirectType: .normal)
        response.cookies[PageMode.cookie] = mode == "on"
            ? HTTPCookies.Value(string: "1", maxAge: 365 * 24 * 3600, path: "/", isHTTPOnly: true, sameSite: .lax)
            : .cleared
        return response
    }

    @Sendable func home(_ req: Request) async throws -> Response {
        Self.html(Home.view(.init(lang: req.lang, signedIn: req.authenticated != nil)).render())
    }

    /// Remembers the chosen language in a cookie and goes back to the page the visitor was on.
    @Sendable func switchLanguage(_ req: Request) async throws -> Response {
        guard let code = req.parameter("code"), let lang = Lang(rawValue: code) else {
            throw UserFacingError(
                code: "unsupported_language", kind: .notFound,
                message: LocalizedText("不支持该语言。", "This language is not available."),
                fields: ["code": "unsupported"]
            )
        }
        let next = Self.safeRedirectTarget(req.query[String.self, at: "next"])
        let response = req.redirect(to: next, redirectType: .normal)
        response.cookies[Request.langCookie] = HTTPCookies.Value(
            string: lang.rawValue,
            maxAge: 365 * 24 * 3600,
            path: "/",
            isHTTPOnly: true,
            sameSite: .lax
        )
        return response
    }

    /// Only same-site absolute paths; anything else (`//evil.example`, `https://…`, or `/\t/evil`,
    /// which browsers read as `//evil` once they drop the tab) goes home.
    static func safeRedirectTarget(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"),
              !raw.contains(where: { $0.isWhitespace || $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) })
        else { return "/" }
        return raw
    }

    @Sendable func stylesheet(_ req: Request) async throws -> Response {
        Self.asset(req, Stylesheet.css, etag: Stylesheet.etag, type: .init(type: "text", subType: "css", parameters: ["charset": "utf-8"]))
    }

    @Sendable func script(_ req: Request) async throws -> Response {
        Self.asset(req, Script.source, etag: Script.etag, type: .init(type: "text", subType: "javascript", parameters: ["charset": "utf-8"]))
    }

    /// A strong validator for a text we serve: the first eight bytes of its SHA-256.
    static func etag(of text: String) -> String {
        "\"" + SHA256.hash(data: Data(text.utf8)).prefix(8).map { String(format: "%02x", $0) }.joined() + "\""
    }

    /// A file of our own, revalidated cheaply by its strong validator.
    static func asset(_ req: Request, _ body: String, etag: String, type: HTTPMediaType) -> Response {
        if req.headers.first(name: .ifNoneMatch) == etag {
            return Response(status: .notModified)
        }
        var headers = HTTPHeaders()
        headers.contentType = type
        headers.replaceOrAdd(name: .eTag, value: etag)
        headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=3600")
        return Response(status: .ok, headers: headers, body: .init(string: body))
    }

    static func html(_ text: String, status: HTTPResponseStatus = .ok) -> Response {
        var headers = HTTPHeaders()
        headers.contentType = .init(type: "text", subType: "html", parameters: ["charset": "utf-8"])
        headers.replaceOrAdd(name: .cacheControl, value: "no-store")
        return Response(status: status, headers: headers, body: .init(string: text))
    }
}
