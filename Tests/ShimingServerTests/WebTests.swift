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
