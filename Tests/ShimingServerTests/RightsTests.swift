import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
import ZIPFoundation
@testable import ShimingServer

@Suite("The subject's rights: who looked at my data")
struct AccessLogTests {
    struct EntryReply: Decodable, Equatable {
        var seq: Int64
        var kind: String
        var viewer: String
        var role: String?
        var platform: String?
        var field: String?
        var purpose: String?
    }

    @Test("A reviewer's look at the application and a document, a reveal with its purpose and an admin's look at the account show in the person's access log by role and never by name, newest first and paged; another person's log stays empty; the page says it in Chinese and English")
    func accessLog() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.wangfang")
            let admin = try await shiming.staff([.admin], username: "admin.lijun")
            let caseID = try await shiming.pendingCase(phone: "13800138091", number: residentID(birth: "19850505", sequence: "413"))
            let token = try await shiming.signIn("13800138091")
            let (bystanderID, bystander) = try await shiming.activeApplicant(phone: "13800138092")
            #expect(try await shiming.send(.GET, "/api/v1/me/access-log", headers: shiming.bearer(token)).json([EntryReply].self).isEmpty)

            let opened = try await shiming.send(.GET, "/api/v1/review/cases/\(caseID)", headers: shiming.bearer(reviewer))
            #expect(opened.status == .ok)
            let document = try #require(try await shiming.getCase(token, caseID).documents.first)
            #expect(try await shiming.send(.GET, "/api/v1/review/cases/\(caseID)/documents/\(document.id)", headers: shiming.bearer(reviewer)).status == .ok)
            let revealed = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/reveal", token: reviewer,
                                                        ["field": "identity.documentNumber", "purpose": "核对证件照片上的号码"])
            #expect(revealed.status == .ok, "\(revealed.text)")
            let me = try await shiming.me(token)
            #expect(try await shiming.send(.GET, "/api/v1/admin/accounts/\(me)", headers: shiming.bearer(admin)).status == .ok)

            let response = try await shiming.send(.GET, "/api/v1/me/access-log", headers: shiming.bearer(token))
            #expect(response.status == .ok, "\(response.text)")
            let entries = try response.json([EntryReply].self)
            #expect(entries.map(\.kind) == ["account_viewed", "revealed", "document_viewed", "case_viewed"])
            #expect(entries.map(\.role) == ["admin", "reviewer", "reviewer", "reviewer"])
            #expect(entries.allSatisfy { $0.viewer == "staff" })
            #expect(entries[1].field == "identity.documentNumber" && entries[1].purpose == "核对证件照片上的号码")
            #expect(!response.text.contains("wangfang") && !response.text.contains("lijun"))
            // Paged by sequence number.
            let older = try await shiming.send(.GET, "/api/v1/me/access-log?limit=2&before=\(entries[1].seq)", headers: shiming.bearer(token))
            #expect(try older.json([EntryReply].self) == Array(entries[2...]))
            #expect(try await shiming.send(.GET, "/api/v1/me/access-log?limit=0", headers: shiming.bearer(token)).status == .unprocessableEntity)

            // Nothing of this person in anyone else's log.
            #expect(try await shiming.send(.GET, "/api/v1/me/access-log", headers: shiming.bearer(bystander)).json([EntryReply].self).isEmpty)
            _ = bystanderID

            // The page, zh-CN first, English on request.
            var headers = shiming.bearer(token)
            headers.add(name: .accept, value: "text/html")
            let page = try await shiming.send(.GET, "/account/access-log", headers: headers)
            #expect(page.status == .ok && page.text.contains("谁查看过我的信息") && page.text.contains("审核员") && page.text.contains("核对证件照片上的号码"))
            #expect(page.text.contains("data-kind=\"revealed\"") && !page.text.contains("wangfang"))
            headers.add(name: .acceptLanguage, value: "en")
            let english = try await shiming.send(.GET, "/account/access-log", headers: headers)
            #expect(english.text.contains("Who looked at my data") && english.text.contains("Reviewer"))
            let account = try await shiming.send(.GET, "/account", headers: headers)
            #expect(account.text.contains("href=\"/account/access-log\""))
        }
    }
}

@Suite("The subject's rights: a copy of my data")
struct DataExportTests {
    /// The entries of a ZIP, by path.
    static func unzip(_ body: ByteBuffer) throws -> [String: Data] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("export-test-\(UUID().uuidString).zip")
        try Data(buffer: body).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let archive = try Archive(url: url, accessMode: .read)
        var entries: [String: Data] = [:]
        for entry in archive {
            var data = Data()
            _ = try archive.extract(entry) { data.append($0) }
            entries[entry.path] = data
        }
        return entries
    }

    @Test("The export ZIP holds the account, the application with its details in clear, the document as uploaded, the change request with its proof, feedback, the messages sent and the access log — and nothing of another person; it is audited and shows in the access log; the page offers it")
    func export() async throws {
        try await withShiming { shiming in
            let number = residentID(birth: "19850505", sequence: "413")
            let caseID = try await shiming.pendingCase(phone: "13800138093", number: number)
            let token = try await shiming.signIn("13800138093")
            let proof = TestFiles.png(width: 900, height: 700, shade: 0x40)
            let request = try await shiming.sendObject(.POST, "/api/v1/me/change-requests", token: token,
                                                       ["field": "legalName", "newValue": "张伟明", "reason": "户口本上已改名"])
            #expect(request.status == .created, "\(request.text)")
            struct Created: Decodable { var id: UUID }
            let requestID = try request.json(Created.self).id
            #expect(try await shiming.upload("/api/v1/me/change-requests/\(requestID)/proofs", file: proof, headers: shiming.bearer(token)).status == .created)
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "上传照片时很顺利"]).status == .created)

            // Someone else, with their own application.
            let otherNumber = residentID(birth: "19920303", sequence: "517")
            let (_, other) = try await shiming.activeApplicant(phone: "13800138094")
            _ = try await shiming.createCase(other, ["program": "credit-bank",
                                                     "identity": ["name": "李娜", "documentType": "resident", "documentNumber": otherNumber]])

            let response = try await shiming.send(.GET, "/api/v1/me/export", headers: shiming.bearer(token))
            #expect(response.status == .ok)
            #expect(response.headers.contentType?.subType == "zip")
            #expect(response.headers.first(name: .contentDisposition)?.hasPrefix("attachment; filename=\"shiming-data-") == true)
            let entries = try Self.unzip(response.body)
            let json = try #require(entries["data.json"].map { String(decoding: $0, as: UTF8.self) })
            #expect(json.contains(number) && json.contains("张伟") && json.contains("13800138093"))
            #expect(json.contains("户口本上已改名") && json.contains("上传照片时很顺利"))
            #expect(json.contains("\"template\" : \"contact_code\""), "the messages sent to them")
            struct Consents: Decodable { struct Part: Decodable { var kind: String; var version: String; var givenBy: String }; var consents: [Part] }
            let consents = try JSONDecoder().decode(Consents.self, from: Data(json.utf8)).consents
            #expect(Set(consents.map(\.kind)) == ["terms", "privacy", "sensitive"] && consents.allSatisfy { $0.givenBy == "self" }, "their consents")
            #expect(!json.contains(otherNumber) && !json.contains("李娜") && !json.contains("13800138094"))
            let item = try await shiming.getCase(token, caseID)
            let document = try #require(item.documents.first)
            let documentPath = try #require(entries.keys.first { $0.hasPrefix("documents/\(caseID.uuidString.lowercased())/") && $0.contains(document.id.uuidString.lowercased()) })
            #expect(entries[documentPath] == TestFiles.png(width: 1200, height: 800))
            #expect(entries.contains { $0.key.hasPrefix("proofs/\(requestID.uuidString.lowercased())/") && $0.value == proof })
            let html = try #require(entries["index.html"].map { String(decoding: $0, as: UTF8.self) })
            #expect(html.contains("我的实名认证数据") && html.contains(number) && html.contains("src=\"\(documentPath)\""))
            #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))

            let log = try await shiming.send(.GET, "/api/v1/me/access-log", headers: shiming.bearer(token)).json([AccessLogTests.EntryReply].self)
            #expect(log.first?.kind == "exported" && log.first?.viewer == "you")
            let exports = try await AuditLog.latest(50, on: shiming.db).filter { $0.action == "account.exported" }
            #expect(exports.count == 1 && !exports[0].details.contains(number))
            // Nothing left behind in the data dir.
            let folder = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("exports")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder))?.isEmpty ?? true)

            var headers = shiming.bearer(token)
            headers.add(name: .accept, value: "text/html")
            #expect(try await shiming.send(.GET, "/account", headers: headers).text.contains("href=\"/account/export\""))
            let page = try await shiming.send(.GET, "/account/export", headers: headers)
            #expect(page.status == .ok && page.headers.contentType?.subType == "zip")
        }
    }

    @Test("The export holds the whole access log, past one page of 200")
    func wholeAccessLog() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.often")
            let caseID = try await shiming.pendingCase(phone: "13800138095", number: residentID(birth: "19870707", sequence: "619"))
            let token = try await shiming.signIn("13800138095")
            let looks = AccessLogService.maxLimit + 5
            for _ in 0..<looks {
                #expect(try await shiming.send(.GET, "/api/v1/review/cases/\(caseID)", headers: shiming.bearer(reviewer)).status == .ok)
            }
            let response = try await shiming.send(.GET, "/api/v1/me/export", headers: shiming.bearer(token))
            struct Exported: Decodable { var accessLog: [AccessLogTests.EntryReply] }
            let data = try #require(try Self.unzip(response.body)["data.json"])
            let log = try JSONDecoder().decode(Exported.self, from: data).accessLog
            #expect(log.filter { $0.kind == "case_viewed" }.count == looks)
            #expect(log.map(\.seq) == log.map(\.seq).sorted(by: >), "newest first, no entry twice")
        }
    }

    @Test("exports left behind by a stopped process are removed at the next start, not one being sent now")
    func leftoverExports() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-exports-\(UUID().uuidString.prefix(8))").path
        let folder = (directory as NSString).appendingPathComponent("exports")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let old = (folder as NSString).appendingPathComponent("old.zip")
        let fresh = (folder as NSString).appendingPathComponent("fresh.zip")
        for path in [old, fresh] { try Data("zip".utf8).write(to: URL(fileURLWithPath: path)) }
        let now = Date()
        try FileManager.default.setAttributes([.modificationDate: now.addingTimeInterval(-2 * 3600)], ofItemAtPath: old)
        #expect(RightsController.removeLeftoverExports(dataDirectory: directory, now: now) == 1)
        #expect(!FileManager.default.fileExists(atPath: old) && FileManager.default.fileExists(atPath: fresh))
    }
}
