import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Health, metrics, OpenAPI")
struct SystemTests {
    @Test("/healthz answers 200 ok once the database is migrated")
    func healthy() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/healthz")
            #expect(response.status == .ok)
            #expect(try response.json([String: String].self) == ["status": "ok"])
        }
    }

    @Test("/healthz answers 503 with the error shape while migrations are missing")
    func unhealthyWithoutMigrations() async throws {
        try await withShiming { shiming in
            try await shiming.app.autoRevert()
            let response = try await shiming.send(.GET, "/healthz")
            #expect(response.status == .serviceUnavailable)
            #expect(response.apiError?.code == "unhealthy")
        }
    }

    @Test("/metrics counts requests and records their latency by route")
    func metrics() async throws {
        try await withShiming { shiming in
            _ = try await shiming.send(.GET, "/healthz")
            _ = try await shiming.send(.GET, "/healthz")
            _ = try await shiming.send(.GET, "/no/such/page")
            let response = try await shiming.send(.GET, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers.contentType?.subType == "plain")
            let text = response.text
            #expect(text.contains(#"http_requests_total{method="GET",route="/healthz",status="200"} 2"#))
            #expect(text.contains(#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#))
            #expect(text.contains(#"http_request_duration_seconds_bucket{method="GET",route="/healthz",le="0.005"}"#))
            #expect(text.contains(#"http_request_duration_seconds_count{method="GET",route="/healthz"} 2"#))
            #expect(text.contains(#"outbox_messages{status="pending"} 0"#))
        }
    }

    @Test("every /api/v1 route is in the OpenAPI document, and the document lists no other")
    func openAPIMatchesRoutes() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/openapi.json")
            #expect(response.status == .ok)
            let document = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
            #expect(document?["openapi"] as? String == "3.1.0")
            let paths = try #require(document?["paths"] as? [String: [String: Any]])

            var documented = Set<String>()
            for (path, operations) in paths where path.hasPrefix("/api/v1") {
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let registered = Set(shiming.app.routes.all.compactMap { route -> String? in
                let path = OpenAPIDocument.openAPIPath(route.path)
                return path.hasPrefix("/api/v1") ? "\(route.method.rawValue) \(path)" : nil
            })
            #expect(!registered.isEmpty)
            #expect(registered == documented)

            let schemas = try #require((document?["components"] as? [String: Any])?["schemas"] as? [String: Any])
            #expect(schemas["Error"] != nil)
            for (_, operations) in paths {
                for (_, operation) in operations {
                    let responses = (operation as? [String: Any])?["responses"] as? [String: Any]
                    #expect(responses?["default"] != nil, "every operation documents the error shape")
                }
            }
        }
    }

    @Test("/api/v1/info reports languages and the injected clock's time")
    func info() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/api/v1/info")
            #expect(response.status == .ok)
            struct Info: Decodable {
                var languages: [String]
                var defaultLanguage: String
                var serverTime: Date
            }
            let info = try response.json(Info.self)
            #expect(info.languages == ["zh-CN", "en"])
            #expect(info.defaultLanguage == "zh-CN")
            #expect(info.serverTime == testStart)
            #expect(response.text.contains("\"2026-11-21T08:00:00Z\""))
        }
    }
}
