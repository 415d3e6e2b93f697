import Foundation
import Testing
import Vapor
@testable import ShimingServer

/// The response check itself: it finds the operation behind a concrete path and catches a body
/// that leaves the document (every `send` in the suites runs it).
@Suite("Responses against the served OpenAPI document")
struct ResponseSchemaTests {
    @Test("a case body matches its schema; a renamed, missing or mistyped field does not")
    func caseBody() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138051")
            let item = try await shiming.createCase(token, ["program": "credit-bank", "identity": ["name": "陈晨"]])
            let schemas = ResponseSchemas(app: shiming.app)
            let response = try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(token))
            #expect(schemas.operation(method: .GET, path: "/api/v1/cases/\(item.id)")?.operationId != nil, "the path template is found")
            #expect(schemas.problems(method: .GET, path: "/api/v1/cases/\(item.id)", response: response) == [])

            guard case .object(var body) = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: response.body)) else {
                Issue.record("not an object"); return
            }
            let schema = JSONSchema.ref("Case")
            body["stateName"] = body.removeValue(forKey: "state")
            body["guardianConsent"] = .string("yes")
            let found = schemas.check(.object(body), schema, at: "$")
            #expect(found.contains { $0.contains("required \"state\" is missing") })
            #expect(found.contains { $0.contains("\"stateName\" is not in the document") })
            #expect(found.contains { $0.contains("guardianConsent: a string where the document says a boolean") })
        }
    }
}
