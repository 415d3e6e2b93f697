import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Password change, reset and profile")
struct ProfileTests {
    @Test("changing the password needs the current one, checks the new one, and ends other sessions")
    func changePassword() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let other = try await shiming.signIn("13800138000")
            let path = "/api/v1/me/password"
            let wrong = try await shiming.send(.POST, path, headers: shiming.bearer(token), json: ["current": "Not-it-2026", "new": "Brand-new-2027"])
            #expect(wrong.apiError?.fields == ["current": "invalid"])
            let weak = try await shiming.send(.POST, path, headers: shiming.bearer(token), json: ["current": goodPassword, "new": "abcdefgh"])
            #expect(weak.apiError?.fields == ["new": "password_single_class"])
            let ok = try await shiming.send(.POST, path, headers: shiming.bearer(token), json: ["current": goodPassword, "new": "Brand-new-2027"])
            #expect(ok.status == .noContent)
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .ok, "this session stays")
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(other)).status == .unauthorized, "others end")
            _ = try await shiming.signIn("13800138000", password: "Brand-new-2027")
            #expect(try await AuditLog.latest(20, on: shiming.db).map(\.action).contains("password.changed"))
        }
    }

    @Test("a reset code to a confirmed contact sets a new password, ends sessions and lifts a lock")
    func reset() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            for _ in 0..<5 { _ = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138000", "password": "Wrong-password-1"]) }
            shiming.clock.advance(by: 61)
            let request = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138000", "purpose": "reset_password"])
            #expect(request.status == .accepted)
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            #expect(shiming.sink.messages.last?.template == "reset_password")
            let weak = try await shiming.send(.POST, "/api/v1/password-resets", json: [
                "channel": "sms", "destination": "13800138000", "code": code, "password": "short",
            ])
            #expect(weak.apiError?.fields == ["password": "password_too_short"])
            shiming.clock.advance(by: 61)
            _ = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138000", "purpose": "reset_password"])
            let fresh = try #require(try await shiming.latestCode(to: "13800138000"))
            let reset = try await shiming.send(.POST, "/api/v1/password-resets", json: [
                "channel": "sms", "destination": "13800138000", "code": fresh, "password": "Reset-pass-2027",
            ])
            #expect(reset.status == .noContent, "\(reset.text)")
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .unauthorized)
            _ = try await shiming.signIn("13800138000", password: "Reset-pass-2027")
        }
    }

    @Test("no reset code goes to an unconfirmed contact")
    func noResetForUnconfirmed() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(phone: "13800138000")
            shiming.clock.advance(by: 61)
            _ = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138000", "purpose": "reset_password"])
            try await shiming.deliverOutbox()
            #expect(!shiming.sink.messages.contains { $0.template == "reset_password" })
        }
    }

    @Test("the profile edits display name and language; login name, legal name and gender are field_locked")
    func profile() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let locked = try await shiming.send(.PATCH, "/api/v1/me", headers: shiming.bearer(token), json: ["legalName": "李四", "gender": "male"])
            #expect(locked.status == .unprocessableEntity)
            #expect(locked.apiError?.code == "field_locked")
            #expect(locked.apiError?.fields == ["legalName": "field_locked", "gender": "field_locked"])
            let edited = try await shiming.send(.PATCH, "/api/v1/me", headers: shiming.bearer(token), json: ["displayName": "小李", "locale": "en"])
            #expect(edited.status == .ok)
            #expect(edited.text.contains("小李") && edited.text.contains("\"locale\":\"en\""))
            #expect(try await AuditLog.latest(5, on: shiming.db).first?.action == "profile.changed")
        }
    }
}
