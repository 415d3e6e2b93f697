import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Staff views: sign-in locks and failed deliveries")
struct AdminTests {
    @Test("staff see when an account's sign-in is locked, and until when")
    func lockVisibleToStaff() async throws {
        try await withShiming { shiming in
            let (id, _) = try await shiming.activeApplicant()
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.zhao")
            for _ in 0..<5 { _ = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138000", "password": "Wrong-password-1"]) }
            let response = try await shiming.send(.GET, "/api/v1/admin/accounts/\(id)", headers: shiming.bearer(supervisor))
            #expect(response.status == .ok)
            struct Detail: Decodable { var signInLockedUntil: Date?; var recentFailedSignIns: Int }
            let detail = try response.json(Detail.self)
            #expect(detail.signInLockedUntil == testStart.addingTimeInterval(900))
            #expect(!response.text.contains("13800138000"), "contacts stay masked")
        }
    }

    @Test("a delivery that failed for good is listed for admins with its error, and can be sent again")
    func failedDeliveries() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.qian")
            shiming.sink.failNext(Outbox.maxAttempts)
            try await shiming.registerAccount(phone: "13800138000")
            for _ in 0..<Outbox.maxAttempts {
                try await shiming.deliverOutbox()
                shiming.clock.advance(by: 3600)
            }
            let list = try await shiming.send(.GET, "/api/v1/admin/outbox?status=failed", headers: shiming.bearer(admin))
            #expect(list.status == .ok)
            struct Entry: Decodable { var id: UUID; var to: String; var status: String; var attempts: Int; var lastError: String? }
            let entries = try list.json([Entry].self)
            let failed = try #require(entries.first)
            #expect(entries.count == 1 && failed.to == "138****8000" && failed.attempts == Outbox.maxAttempts)
            #expect(failed.lastError?.contains("told to fail") == true)

            let retried = try await shiming.send(.POST, "/api/v1/admin/outbox/\(failed.id)/retry", headers: shiming.bearer(admin))
            #expect(try retried.json(Entry.self).status == "pending")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.map(\.to) == ["13800138000"])
            let again = try await shiming.send(.POST, "/api/v1/admin/outbox/\(failed.id)/retry", headers: shiming.bearer(admin))
            #expect(again.status == .conflict)
            #expect(try await AuditLog.latest(20, on: shiming.db).map(\.action).contains("outbox.retried"))
        }
    }
}
