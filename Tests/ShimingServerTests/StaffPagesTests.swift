import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

extension TestShiming {
    /// A web (cookie) session: the Cookie header and the session's CSRF token.
    func webSession(_ login: String) async throws -> (HTTPHeaders, String) {
        let session = try await app.features.accounts.signIn(.init(login: login, password: goodPassword), kind: "web", ip: nil)
        return (["Cookie": "shiming_session=\(session.token)", "Accept": "text/html"], try #require(session.csrfToken))
    }

    /// Posts an URL-encoded form.
    func postForm(_ path: String, _ fields: [String: String], headers: HTTPHeaders) async throws -> TestingHTTPResponse {
        var headers = headers
        headers.contentType = .urlEncodedForm
        let body = fields.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }.joined(separator: "&")
        return try await app.testing().sendRequest(.POST, path, headers: headers, body: ByteBuffer(string: body))
    }
}

@Suite("Staff pages and the change-request page")
struct StaffPagesTests {
    @Test("the desk: anonymous visitors go to sign-in, applicants are refused, each role sees its own links")
    func desk() async throws {
        try await withShiming { shiming in
            let anonymous = try await shiming.send(.GET, "/staff", headers: ["Accept": "text/html"])
            #expect(anonymous.status == .seeOther && anonymous.headers.first(name: .location) == "/signin")
            _ = try await shiming.activeApplicant()
            let (applicant, _) = try await shiming.webSession("13800138000")
            let refused = try await shiming.send(.GET, "/staff", headers: applicant)
            #expect(refused.status == .forbidden && refused.text.contains("<html"))
            _ = try await shiming.staff([.reviewer], username: "reviewer.zhao")
            let (reviewer, _) = try await shiming.webSession("reviewer.zhao")
            let reviewerDesk = try await shiming.send(.GET, "/staff", headers: reviewer)
            #expect(reviewerDesk.status == .ok && reviewerDesk.text.contains(#"href="/staff/change-requests""#))
            #expect(!reviewerDesk.text.contains(#"href="/staff/new""#) && !reviewerDesk.text.contains(#"href="/staff/outbox""#))
            #expect(try await shiming.send(.GET, "/staff/new", headers: reviewer).status == .forbidden)
            _ = try await shiming.staff([.admin], username: "admin.sun")
            let (admin, _) = try await shiming.webSession("admin.sun")
            let adminDesk = try await shiming.send(.GET, "/staff", headers: admin)
            #expect(adminDesk.text.contains(#"href="/staff/new""#) && adminDesk.text.contains(#"href="/staff/outbox""#))
        }
    }

    @Test("an applicant files a change request with proof on the page; a reviewer sees the picture and approves on the page")
    func changeRequestPages() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant()
            let (applicant, csrf) = try await shiming.webSession("13800138000")
            let image = TestFiles.png(width: 640, height: 480)
            let form = ["field": "gender", "newValue": "女", "reason": "户口簿上是女"]

            // Without the CSRF token the upload is refused and nothing is stored.
            var (headers, body) = TestFiles.multipart(file: image, fields: form)
            for (name, value) in applicant { headers.add(name: name, value: value) }
            let forged = try await shiming.app.testing().sendRequest(.POST, "/account/change-requests", headers: headers, body: body)
            #expect(forged.status == .forbidden)
            #expect(try await ChangeRequestRecord.query(on: shiming.db).count() == 0)

            // A bad file: the form comes back with the error next to the file field, and no request exists.
            (headers, body) = TestFiles.multipart(file: Data("hello".utf8), filename: "photo.jpg", fields: form)
            for (name, value) in applicant { headers.add(name: name, value: value) }
            let badFile = try await shiming.app.testing().sendRequest(.POST, "/account/change-requests?_csrf=\(csrf)", headers: headers, body: body)
            #expect(badFile.status == .unprocessableEntity && badFile.text.contains("field-file-error") && badFile.text.contains("户口簿上是女"))
            #expect(try await ChangeRequestRecord.query(on: shiming.db).count() == 0)

            (headers, body) = TestFiles.multipart(file: image, fields: form)
            for (name, value) in applicant { headers.add(name: name, value: value) }
            let filed = try await shiming.app.testing().sendRequest(.POST, "/account/change-requests?_csrf=\(csrf)", headers: headers, body: body)
            #expect(filed.status == .seeOther, "\(filed.text)")
            let request = try #require(try await ChangeRequestRecord.query(on: shiming.db).first())
            let id = try request.requireID().uuidString.lowercased()
            let list = try await shiming.send(.GET, "/account/change-requests", headers: applicant)
            #expect(list.text.contains(#"data-state="pending""#) && list.text.contains("女"))

            _ = try await shiming.staff([.reviewer], username: "reviewer.zhao")
            let (reviewer, reviewerCSRF) = try await shiming.webSession("reviewer.zhao")
            let queue = try await shiming.send(.GET, "/staff/change-requests", headers: reviewer)
            #expect(queue.text.contains("/staff/change-requests/\(id)"))
            let detail = try await shiming.send(.GET, "/staff/change-requests/\(id)", headers: reviewer)
            #expect(detail.status == .ok && detail.text.contains("<img") && detail.text.contains("640 × 480"))
            let file = try #require(try await StoredFileRecord.query(on: shiming.db).first()).id!.uuidString.lowercased()
            let picture = try await shiming.send(.GET, "/staff/change-requests/\(id)/proofs/\(file)", headers: reviewer)
            #expect(Data(buffer: picture.body) == image)

            let noNote = try await shiming.postForm("/staff/change-requests/\(id)/decision", ["_csrf": reviewerCSRF, "outcome": "reject"], headers: reviewer)
            #expect(noNote.status.code >= 400 && noNote.text.contains("field-note-error"))
            let approved = try await shiming.postForm("/staff/change-requests/\(id)/decision", ["_csrf": reviewerCSRF, "outcome": "approve"], headers: reviewer)
            #expect(approved.status == .seeOther)
            let after = try await shiming.send(.GET, "/account/change-requests", headers: applicant)
            #expect(after.text.contains(#"data-state="approved""#))
            #expect(try await AccountRecord.query(on: shiming.db).filter(\.$kind == "applicant").first()?.gender == "female")
        }
    }

    @Test("an admin creates a teacher on the page; a missing class is shown next to the field")
    func newStaff() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.admin], username: "admin.sun")
            let (admin, csrf) = try await shiming.webSession("admin.sun")
            var form = ["_csrf": csrf, "username": "teacher.wang", "password": goodPassword, "roles[]": "teacher", "school": "第一中学", "grade": "初二"]
            let incomplete = try await shiming.postForm("/staff/new", form, headers: admin)
            #expect(incomplete.status.code >= 400 && incomplete.text.contains("field-class-error") && incomplete.text.contains("第一中学"))
            form["class"] = "3班"
            let created = try await shiming.postForm("/staff/new", form, headers: admin)
            #expect(created.status == .ok && created.text.contains("teacher.wang"))
            let teacher = try #require(try await AccountRecord.query(on: shiming.db).filter(\.$username == "teacher.wang").first())
            #expect(teacher.roles == "teacher" && teacher.scopeClass == "3班")
            #expect(try await AuditLog.latest(3, on: shiming.db).map(\.action).contains("staff.created"))
        }
    }

    @Test("staff see a sign-in lock and when it ends, in Beijing time")
    func lockVisible() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant()
            for _ in 0..<5 {
                _ = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138000", "password": "wrong-password-1"])
            }
            _ = try await shiming.staff([.supervisor], username: "supervisor.qian")
            let (supervisor, _) = try await shiming.webSession("supervisor.qian")
            let page = try await shiming.send(.GET, "/staff/accounts?login=13800138000", headers: supervisor)
            // 08:00 UTC + 15 minutes = 16:15 in Beijing.
            #expect(page.text.contains(#"data-locked-until="2026-11-21 16:15 (UTC+8)""#), "\(page.text)")
            #expect(page.text.contains("<dd>138****8000 ✓</dd>") && !page.text.contains("<dd>13800138000"))
            let unknown = try await shiming.send(.GET, "/staff/accounts?login=nobody.here", headers: supervisor)
            #expect(unknown.text.contains("notice error"))
        }
    }

    @Test("Beijing time crosses midnight with the clock, not with UTC")
    func beijingTime() {
        #expect(ChinaTime.minute(Date(timeIntervalSince1970: 1_795_291_200)) == "2026-11-22 04:00 (UTC+8)")  // 2026-11-21T20:00Z
        #expect(ChinaTime.minute(testStart) == "2026-11-21 16:00 (UTC+8)")
    }

    @Test("failed deliveries are listed for admins, who can queue one again")
    func failedDeliveries() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.admin], username: "admin.sun")
            let (admin, csrf) = try await shiming.webSession("admin.sun")
            let id = try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
                try await Outbox(cipher: shiming.app.shiming.cipher).enqueue(
                    OutgoingMessage(channel: .sms, to: "13700137000", template: "registration_code", text: "x"), at: testStart, on: tx)
            }
            let record = try #require(try await OutboxMessageRecord.find(id, on: shiming.db))
            record.status = OutboxStatus.failed.rawValue
            record.attempts = 8
            record.lastError = "gateway answered 500"
            try await record.save(on: shiming.db)
            let page = try await shiming.send(.GET, "/staff/outbox", headers: admin)
            #expect(page.text.contains("137****7000") && page.text.contains("gateway answered 500"))
            let retried = try await shiming.postForm("/staff/outbox/\(id.uuidString.lowercased())/retry", ["_csrf": csrf], headers: admin)
            #expect(retried.status == .seeOther)
            #expect(try await OutboxMessageRecord.find(id, on: shiming.db)?.status == OutboxStatus.pending.rawValue)
        }
    }
}
