import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// A large account's data export, prepared in the background (issue 15): asked for once, built
/// once however many instances sweep, sealed at rest under the person's key, streamed to them
/// only, told by message, gone after 24 hours. Both engines.
@Suite("The subject's rights: large exports in the background")
struct ExportJobTests {
    @Test("a large account's export is prepared once in the background, told by message, downloaded whole by the person only, sealed at rest, and deleted after 24 hours")
    func backgroundExport() async throws {
        try await withShiming(adjust: { $0.exportInlineBytes = 1024 }) { shiming in
            let phone = "13800138630"
            let (_, token) = try await shiming.activeApplicant(phone: phone)
            let number = residentID(birth: "19620909", sequence: "333")
            let item = try await shiming.seniorCase(token, name: "冯淑英", number: number)
            let (_, otherToken) = try await shiming.activeApplicant(phone: "13800138631")

            struct ExportReply: Decodable { var id: UUID; var state: String; var expiresAt: Date?; var size: Int?; var download: String? }
            let asked = try await shiming.send(.GET, "/api/v1/me/export", headers: shiming.bearer(token))
            #expect(asked.status == .accepted, "\(asked.text)")
            #expect(asked.headers.first(name: .location) == "/api/v1/me/exports")
            let job = try asked.json(ExportReply.self)
            #expect(job.state == "preparing" && job.download == nil)
            let again = try await shiming.send(.POST, "/api/v1/me/exports", headers: shiming.bearer(token))
            let againJob = try again.json(ExportReply.self)
            #expect(again.status == .accepted && againJob.id == job.id, "asking again answers the same export")
            let early = try await shiming.send(.GET, "/api/v1/me/exports/\(job.id)/download", headers: shiming.bearer(token))
            #expect(early.status == .conflict && early.apiError?.code == "export_not_ready")

            // Two instances sweeping at once build it once.
            let jobs = shiming.app.features.exportJobs
            async let first = jobs.buildDue()
            async let second = jobs.buildDue()
            #expect(try await first + second == 1)
            #expect(try await jobs.buildDue() == 0)

            let listed = try await shiming.send(.GET, "/api/v1/me/exports", headers: shiming.bearer(token))
            let ready = try #require(try listed.json([ExportReply].self).first)
            #expect(ready.id == job.id && ready.state == "ready" && ready.expiresAt == shiming.clock.now().addingTimeInterval(24 * 3600))
            #expect(ready.download == "/api/v1/me/exports/\(job.id.uuidString.lowercased())/download")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.to == phone && $0.text.contains("24 小时") }, "told by message")

            // At rest: sealed under the person's key, no plaintext left behind.
            let sealed = try await shiming.app.shiming.files.store.read(name: job.id.uuidString.lowercased())
            #expect(sealed.range(of: Data("data.json".utf8)) == nil && sealed.prefix(4) == Data("SHS1".utf8))
            let temporary = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("exports")
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []).isEmpty)

            #expect(try await shiming.send(.GET, "/api/v1/me/exports/\(job.id)/download", headers: shiming.bearer(otherToken)).status == .notFound)
            let download = try await shiming.send(.GET, "/api/v1/me/exports/\(job.id)/download", headers: shiming.bearer(token))
            #expect(download.status == .ok && download.headers.contentType?.subType == "zip")
            #expect(download.body.readableBytes == ready.size)
            let entries = try DataExportTests.unzip(download.body)
            let json = try #require(entries["data.json"].map { String(decoding: $0, as: UTF8.self) })
            #expect(json.contains(number) && json.contains("冯淑英") && json.contains(phone))
            #expect(entries.keys.filter { $0.hasPrefix("documents/\(item.id.uuidString.lowercased())/") }.count == 3)
            #expect(entries.values.contains(TestFiles.png(width: 1200, height: 800)))

            // The page shows it with its link.
            var headers = shiming.bearer(token)
            headers.add(name: .accept, value: "text/html")
            let page = try await shiming.send(.GET, "/account/export", headers: headers)
            #expect(page.status == .ok && page.text.contains("data-state=\"ready\"") && page.text.contains("/account/exports/\(job.id.uuidString.lowercased())/download"))
            let viaPage = try await shiming.send(.GET, "/account/exports/\(job.id.uuidString.lowercased())/download", headers: headers)
            #expect(viaPage.status == .ok && viaPage.body.readableBytes == ready.size)

            // After 24 hours it is gone.
            shiming.clock.advance(by: 24 * 3600 + 60)
            #expect(try await jobs.expireDue() == 1)
            let late = try await shiming.send(.GET, "/api/v1/me/exports/\(job.id)/download", headers: shiming.bearer(token))
            #expect(late.status == .conflict && late.apiError?.code == "export_expired")
            await #expect(throws: (any Error).self) { try await shiming.app.shiming.files.store.read(name: job.id.uuidString.lowercased()) }
            #expect(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.export_requested").count() == 1)
        }
    }

    @Test("a small account still gets its ZIP at once")
    func smallAtOnce() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138632")
            let response = try await shiming.send(.GET, "/api/v1/me/export", headers: shiming.bearer(token))
            #expect(response.status == .ok && response.headers.contentType?.subType == "zip")
        }
    }
}
