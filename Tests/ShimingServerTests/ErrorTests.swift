import AsyncKit
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Error responses")
struct ErrorTests {
    struct Probe: Content {
        var name: String
        var age: Int
    }

    struct DatabaseExploded: Error, CustomStringConvertible {
        var description: String { "SQLITE_ERROR near \"SELECT * FROM accounts\": stack frame 0x1234" }
    }

    /// Routes that fail in the ways real handlers can.
    func addProbes(_ app: Application) {
        app.post("probe", "echo") { req async throws -> Probe in try req.content.decode(Probe.self) }
        app.get("probe", "boom") { _ async throws -> String in throw DatabaseExploded() }
        app.get("probe", "busy") { _ async throws -> String in throw ConnectionPoolTimeoutError.connectionRequestTimeout }
        app.get("probe", "limited") { _ async throws -> String in
            throw UserFacingError(
                code: "rate_limited", kind: .rateLimited(retryAfterSeconds: 42),
                message: LocalizedText("太频繁了", "Too often")
            )
        }
    }

    @Test("an unknown API path is a 404 in the error shape, in Chinese by default")
    func notFoundChinese() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/api/v1/nothing-here")
            #expect(response.status == .notFound)
            #expect(response.headers.contentType?.subType == "json")
            let error = try #require(response.apiError)
            #expect(error.code == "not_found")
            #expect(error.message == "找不到您要的内容。")
        }
    }

    @Test("the message follows Accept-Language")
    func notFoundEnglish() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/api/v1/nothing-here", headers: ["Accept-Language": "en-GB,en;q=0.9"])
            #expect(response.apiError?.message == "Not found.")
        }
    }

    @Test("a browser gets an error page in its language")
    func htmlErrorPage() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/no/such/page", headers: ["Accept": "text/html", "Accept-Language": "en"])
            #expect(response.status == .notFound)
            #expect(response.headers.contentType?.subType == "html")
            #expect(response.text.contains("Something went wrong"))
            #expect(response.text.contains(#"lang="en""#))
        }
    }

    @Test("an unexpected failure is a 500 that reveals no SQL or internals")
    func internalError() async throws {
        try await withShiming { shiming in
            addProbes(shiming.app)
            let response = try await shiming.send(.GET, "/probe/boom", headers: ["Accept-Language": "en"])
            #expect(response.status == .internalServerError)
            #expect(response.apiError?.code == "internal_error")
            #expect(!response.text.contains("SELECT"))
            #expect(!response.text.contains("SQLITE"))
            #expect(!response.text.contains("0x1234"))
        }
    }

    @Test("a body that is not JSON is refused as invalid_json")
    func invalidJSON() async throws {
        try await withShiming { shiming in
            addProbes(shiming.app)
            var headers = HTTPHeaders()
            headers.contentType = .json
            let response = try await shiming.app.testing().sendRequest(
                .POST, "/probe/echo", headers: headers, body: ByteBuffer(string: "{not json")
            )
            #expect(response.status == .badRequest)
            #expect(response.apiError?.code == "invalid_json")
        }
    }

    @Test("a missing or mistyped field is named in the error")
    func namedFields() async throws {
        try await withShiming { shiming in
            addProbes(shiming.app)
            let missing = try await shiming.send(.POST, "/probe/echo", json: ["name": "张三"])
            #expect(missing.status == .badRequest)
            #expect(missing.apiError?.code == "invalid_body")
            #expect(missing.apiError?.fields == ["age": "required"])

            let mistyped = try await shiming.send(.POST, "/probe/echo", json: ["name": "张三", "age": "twelve"])
            #expect(mistyped.apiError?.fields == ["age": "invalid_type"])

            let fine = try await shiming.send(.POST, "/probe/echo", json: Probe(name: "张三", age: 12))
            #expect(fine.status == .ok)
        }
    }

    @Test("a rate-limit error is a 429 with Retry-After")
    func rateLimited() async throws {
        try await withShiming { shiming in
            addProbes(shiming.app)
            let response = try await shiming.send(.GET, "/probe/limited")
            #expect(response.status == .tooManyRequests)
            #expect(response.headers.first(name: .retryAfter) == "42")
            #expect(response.apiError?.message == "太频繁了")
        }
    }

    @Test("no database connection free within the pool's wait is a 503 with Retry-After, not an internal error")
    func overloaded() async throws {
        try await withShiming { shiming in
            addProbes(shiming.app)
            let response = try await shiming.send(.GET, "/probe/busy")
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers.first(name: .retryAfter) == "5")
            #expect(response.apiError?.code == "unavailable")
        }
    }
}
