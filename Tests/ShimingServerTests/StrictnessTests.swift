import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Strictness: unknown fields and undeclared methods")
struct StrictnessTests {
    @Test("Unknown JSON fields are 422 unknown_field naming them (nested ones by their path) and change nothing; locked profile fields stay field_locked")
    func unknownFields() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let renamed = try await shiming.sendObject(.PATCH, "/api/v1/me", token: token, ["name": "王五", "displayName": "小王"])
            #expect(renamed.status == .unprocessableEntity && renamed.apiError?.code == "unknown_field")
            #expect(renamed.apiError?.fields == ["name": "unknown_field"])
            struct Me: Decodable { var displayName: String? }
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).json(Me.self).displayName == nil)
            let nested = try await shiming.sendObject(.POST, "/api/v1/cases", token: token,
                                                      ["program": "credit-bank", "identity": ["nmae": "林森"], "extra": 1])
            #expect(nested.apiError?.fields == ["identity.nmae": "unknown_field", "extra": "unknown_field"])
            #expect(try await shiming.send(.GET, "/api/v1/cases?mine=1", headers: shiming.bearer(token)).json([CaseReply].self).isEmpty)
            // A body the direct reader leaves to Foundation (a key written twice) is checked the same way.
            var headers = shiming.bearer(token)
            headers.contentType = .json
            let twice = try await shiming.app.testing().sendRequest(
                .POST, "/api/v1/cases", headers: headers,
                body: ByteBuffer(string: #"{"program":"credit-bank","program":"credit-bank","identity":{"nmae":"林森"}}"#))
            #expect(twice.status == .unprocessableEntity && twice.apiError?.fields == ["identity.nmae": "unknown_field"])
            let locked = try await shiming.sendObject(.PATCH, "/api/v1/me", token: token, ["legalName": "李四"])
            #expect(locked.apiError?.code == "field_locked")
        }
    }

    @Test("A method the path does not declare is 405 with Allow; an unknown path stays 404")
    func undeclaredMethods() async throws {
        try await withShiming { shiming in
            let programs = try await shiming.send(.DELETE, "/api/v1/programs")
            #expect(programs.status == .methodNotAllowed && programs.apiError?.code == "method_not_allowed")
            #expect(programs.headers.first(name: .allow) == "GET, HEAD")
            let item = try await shiming.send(.PUT, "/api/v1/cases/\(UUID())")
            #expect(item.status == .methodNotAllowed)
            #expect(item.headers.first(name: .allow) == "GET, HEAD, PATCH")
            #expect(try await shiming.send(.GET, "/api/v1/nothing-here").status == .notFound)
            #expect(try await shiming.send(.GET, "/api/v1/programs").status == .ok)
        }
    }
}
