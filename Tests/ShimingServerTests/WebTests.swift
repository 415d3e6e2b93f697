import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Web shell")
struct WebTests {
    @Test("the home page is Chinese by default and links to sign-in")
    func homeChinese() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/")
            #expect(response.status == .ok)
            #expect(response.headers.contentType?.subType == "html")
            let html = response.text
            #expect(html.contains(#"<html lang="zh-CN">"#))
            #expect(html.contains("实名认证，一次办好"))
            #expect(html.contains(#"href="/signin""#))
            #expect(html.contains(#"<link rel="stylesheet" href="/assets/shiming.css"/>"#) || html.contains(#"href="/assets/shiming.css""#))
            #expect(html.contains(#"name="viewport""#))
            #expect(!html.contains("http://") && !html.contains("https://"), "no resources from elsewhere")
        }
    }

    @Test("Accept-Language: en gives the English home page")
    func homeEnglish() async throws {
        try await withShiming { shiming in
            let html = try await shiming.send(.GET, "/", headers: ["Accept-Language": "en-US,en;q=0.9"]).text
            #expect(html.contains(#"<html lang="en">"#))
            #expect(html.contains("Real-name verification, done once and done right"))
            #expect(html.contains(">中文<"))
        }
    }

    @Test("the language switch sets a cookie that wins over Accept-Language and returns to the page")
    func languageSwitch() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/lang/en?next=%2F", headers: ["Accept-Language": "zh-CN"])
            #expect(response.status == .seeOther)
            #expect(response.headers.first(name: .location) == "/")
            let cookie = try #require(response.headers.setCookie?[Request.langCookie])
            #expect(cookie.string == "en")
            #expect(cookie.isHTTPOnly)

            let page = try await shiming.send(.GET, "/", headers: ["Accept-Language": "zh-CN", "Cookie": "shiming_lang=en"])
            #expect(page.text.contains(#"<html lang="en">"#))
        }
    }

    @Test("the language switch never redirects off the site", arguments: [
        "//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
    ])
    func safeRedirect(next: String) async throws {
        try await withShiming { shiming in
            let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let response = try await shiming.send(.GET, "/lang/zh-CN?next=\(encoded)")
            #expect(response.headers.first(name: .location) == "/")
        }
    }

    @Test("an unsupported language is a 404")
    func unsupportedLanguage() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/lang/fr")
            #expect(response.status == .notFound)
            #expect(response.apiError?.code == "unsupported_language")
        }
    }

    @Test("the stylesheet is served by Shiming with a validator and answers 304 when unchanged")
    func stylesheet() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/assets/shiming.css")
            #expect(response.status == .ok)
            #expect(response.headers.contentType?.subType == "css")
            #expect(response.text.contains("min-height: 52px"))
            let etag = try #require(response.headers.first(name: .eTag))
            let again = try await shiming.send(.GET, "/assets/shiming.css", headers: ["If-None-Match": etag])
            #expect(again.status == .notModified)
        }
    }

    @Test("pages carry headers that forbid framing, sniffing and third-party resources")
    func securityHeaders() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/")
            #expect(response.headers.first(name: "X-Frame-Options") == "DENY")
            #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(response.headers.first(name: "Content-Security-Policy")?.contains("default-src 'self'") == true)
        }
    }
}

@Suite("Account pages")
struct AccountPageTests {
    @Test("a form posted without its CSRF token is refused and creates nothing")
    func csrfOnForms() async throws {
        try await withShiming { shiming in
            var headers = HTTPHeaders()
            headers.contentType = .urlEncodedForm
            let response = try await shiming.app.testing().sendRequest(
                .POST, "/register", headers: headers,
                body: ByteBuffer(string: "phone=13800138000&password=Shiming-2026%21&acceptTerms=true")
            )
            #expect(response.status == .forbidden)
            #expect(try await AccountRecord.query(on: shiming.db).count() == 0)
        }
    }

    @Test("user input echoed into a form is escaped")
    func escaping() async throws {
        try await withShiming { shiming in
            let page = try await shiming.send(.GET, "/register", headers: ["Accept": "text/html"])
            let cookie = try #require(page.headers.setCookie?[PageCSRF.cookie]?.string)
            var headers: HTTPHeaders = ["Cookie": "\(PageCSRF.cookie)=\(cookie)", "Accept": "text/html"]
            headers.contentType = .urlEncodedForm
            let evil = "\"><script>alert(1)</script>"
            let body = "_csrf=\(cookie)&username=\(evil.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&phone=1&password=x"
            let response = try await shiming.app.testing().sendRequest(.POST, "/register", headers: headers, body: ByteBuffer(string: body))
            #expect(response.status == .unprocessableEntity)
            #expect(!response.text.contains("<script>alert(1)</script>"))
            #expect(response.text.contains("&quot;&gt;&lt;script&gt;"))
        }
    }

    @Test("the header offers the account page once signed in")
    func signedInHeader() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant()
            let session = try await shiming.app.features.accounts.signIn(.init(login: "13800138000", password: goodPassword), kind: "web", ip: nil)
            let home = try await shiming.send(.GET, "/", headers: ["Cookie": "shiming_session=\(session.token)"])
            #expect(home.text.contains(#"href="/account""#))
            let account = try await shiming.send(.GET, "/account", headers: ["Cookie": "shiming_session=\(session.token)"])
            #expect(account.text.contains("138****8000") && !account.text.contains("13800138000"))
        }
    }
}
