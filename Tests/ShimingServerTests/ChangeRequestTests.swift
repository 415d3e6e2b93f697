import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Change requests for locked fields, with proof and a staff decision")
struct ChangeRequestTests {
    struct Body: Decodable {
        struct Proof: Decodable { var id: UUID; var contentType: String; var size: Int; var width: Int? }
        struct Decision: Decodable { var outcome: String; var note: String? }
        var id: UUID
        var field: String
        var newValue: String
        var currentValue: String?
        var reason: String
        var state: String
        var proofs: [Proof]
        var decision: Decision?
    }

    struct Me: Decodable { var username: String?; var legalName: String?; var gender: String? }

    @Test("an applicant files a request, attaches a proof, a reviewer approves: the change is made, audited and the applicant told")
    func approve() async throws {
        try await withShiming { shiming in
            let (accountID, token) = try await shiming.activeApplicant()
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.zhao")
            let filed = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                               json: ["field": "legalName", "newValue": "王小明", "reason": "身份证上的姓名是王小明"])
            #expect(filed.status == .created, "\(filed.text)")
            let request = try filed.json(Body.self)
            #expect(request.state == "pending" && request.newValue == PersonalName.mask("王小明") && request.proofs.isEmpty)

            // No proof yet: staff cannot decide.
            let early = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(reviewer),
                                               json: ["outcome": "approve"])
            #expect(early.status == .conflict && early.apiError?.code == "proof_missing")

            let image = TestFiles.png(width: 800, height: 600)
            let uploaded = try await shiming.upload("/api/v1/me/change-requests/\(request.id)/proofs", file: image, filename: "证明.png",
                                                    headers: shiming.bearer(token))
            #expect(uploaded.status == .created, "\(uploaded.text)")
            let proof = try uploaded.json(Body.Proof.self)
            #expect(proof.contentType == "image/png" && proof.size == image.count && proof.width == 800)

            // Stored sealed: the bytes on disk are not the upload, and do not contain it.
            let onDisk = try Data(contentsOf: URL(fileURLWithPath: shiming.configuration.dataDirectory + "/files/" +
                String(proof.id.uuidString.lowercased().prefix(2)) + "/\(proof.id.uuidString.lowercased()).bin"))
            #expect(onDisk != image && onDisk.range(of: image.prefix(64)) == nil)

            // The owner gets the file back; another applicant gets 404; staff get it (audited).
            let mine = try await shiming.send(.GET, "/api/v1/me/change-requests/\(request.id)/proofs/\(proof.id)", headers: shiming.bearer(token))
            #expect(mine.status == .ok && Data(buffer: mine.body) == image && mine.headers.contentType?.description == "image/png")
            let (_, other) = try await shiming.activeApplicant(phone: "13900139000")
            let theirs = try await shiming.send(.GET, "/api/v1/me/change-requests/\(request.id)/proofs/\(proof.id)", headers: shiming.bearer(other))
            #expect(theirs.status == .notFound)
            let views = { try await AuditLog.latest(50, on: shiming.db).filter { $0.action == "change_request.proof_viewed" }.count }
            let unknown = try await shiming.send(.GET, "/api/v1/admin/change-requests/\(request.id)/proofs/\(UUID())", headers: shiming.bearer(reviewer))
            #expect(unknown.status == .notFound)
            #expect(try await views() == 0, "a refused look is not recorded as a view")
            let staffCopy = try await shiming.send(.GET, "/api/v1/admin/change-requests/\(request.id)/proofs/\(proof.id)", headers: shiming.bearer(reviewer))
            #expect(try await views() == 1)
            #expect(staffCopy.status == .ok && Data(buffer: staffCopy.body) == image)

            let detail = try await shiming.send(.GET, "/api/v1/admin/change-requests/\(request.id)", headers: shiming.bearer(reviewer))
            #expect(try detail.json(Body.self).newValue == "王小明", "deciders see the value in clear to compare it with the proof")
            let list = try await shiming.send(.GET, "/api/v1/admin/change-requests?state=pending", headers: shiming.bearer(reviewer))
            #expect(try list.json([Body].self).map(\.newValue) == [PersonalName.mask("王小明")])

            let decided = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(reviewer),
                                                 json: ["outcome": "approve"])
            #expect(decided.status == .ok, "\(decided.text)")
            #expect(try decided.json(Body.self).state == "approved")
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).json(Me.self)
            #expect(me.legalName == PersonalName.mask("王小明"))
            let stored = try #require(try await AccountRecord.find(accountID, on: shiming.db))
            #expect(try AccountRow(stored).account(cipher: shiming.app.shiming.cipher).legalName == "王小明")

            try await shiming.deliverOutbox()
            let notice = try #require(shiming.sink.messages.last)
            #expect(notice.template == "change_request_decided" && notice.to == "13800138000" && notice.text.contains("已通过"))
            let actions = try await AuditLog.latest(30, on: shiming.db).map(\.action)
            for action in ["change_request.created", "change_request.proof_added", "change_request.viewed", "change_request.proof_viewed", "change_request.approved"] {
                #expect(actions.contains(action), "\(action)")
            }

            let again = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(reviewer),
                                               json: ["outcome": "reject", "note": "x"])
            #expect(again.status == .conflict && again.apiError?.code == "change_request_decided")
        }
    }

    @Test("a rejection needs a note, which the applicant sees; the username stays")
    func reject() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.qian")
            let request = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                                 json: ["field": "username", "newValue": "Xiaoming_2026", "reason": "想换一个好记的登录名"]).json(Body.self)
            #expect(request.newValue == "xiaoming_2026")
            _ = try await shiming.upload("/api/v1/me/change-requests/\(request.id)/proofs", file: TestFiles.pdf, filename: "proof.pdf", headers: shiming.bearer(token))
            let noNote = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(supervisor),
                                                json: ["outcome": "reject"])
            #expect(noNote.status == .badRequest || noNote.status == .unprocessableEntity)
            #expect(noNote.apiError?.fields?["note"] == "required")
            let rejected = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(supervisor),
                                                  json: ["outcome": "reject", "note": "证明材料与申请内容无关"])
            #expect(rejected.status == .ok)
            let mine = try await shiming.send(.GET, "/api/v1/me/change-requests", headers: shiming.bearer(token)).json([Body].self)
            #expect(mine.first?.state == "rejected" && mine.first?.decision?.note == "证明材料与申请内容无关")
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).json(Me.self)
            #expect(me.username == nil)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.last?.text.contains("证明材料与申请内容无关") == true)
        }
    }

    @Test("bad input names the field and stores nothing; one open request per field; a taken login name is refused")
    func badInput() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            _ = try await shiming.registerAccount(username: "taken.name", phone: "13900139000")
            let cases: [([String: String], String, String)] = [
                (["field": "phone", "newValue": "13900000000", "reason": "r"], "field", "invalid_value"),
                (["field": "gender", "newValue": "unknown", "reason": "r"], "newValue", "invalid_value"),
                (["field": "legalName", "newValue": "王", "reason": "r"], "newValue", "invalid_length"),
                (["field": "legalName", "newValue": "王小明", "reason": "  "], "reason", "required"),
                (["field": "username", "newValue": "1abc", "reason": "r"], "newValue", "invalid_format"),
            ]
            for (body, field, code) in cases {
                let response = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token), json: body)
                #expect(response.status.code >= 400 && response.status.code < 500, "\(body)")
                #expect(response.apiError?.fields?[field] == code, "\(body): \(response.text)")
            }
            let taken = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                               json: ["field": "username", "newValue": "Taken.Name", "reason": "r"])
            #expect(taken.status == .conflict && taken.apiError?.fields?["newValue"] == "taken")
            #expect(try await ChangeRequestRecord.query(on: shiming.db).count() == 0)

            let first = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                               json: ["field": "gender", "newValue": "female", "reason": "登记错误"])
            #expect(first.status == .created)
            let second = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                                json: ["field": "gender", "newValue": "female", "reason": "登记错误"])
            #expect(second.status == .conflict && second.apiError?.code == "change_request_open")
        }
    }

    @Test("proofs are recognised by content: a renamed text file, a tiny picture, a missing file part are refused with the field named")
    func proofChecks() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let request = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(token),
                                                 json: ["field": "gender", "newValue": "female", "reason": "登记错误"]).json(Body.self)
            let path = "/api/v1/me/change-requests/\(request.id)/proofs"
            let text = try await shiming.upload(path, file: Data("not a picture".utf8), filename: "photo.jpg", headers: shiming.bearer(token))
            #expect(text.status == .badRequest || text.status == .unprocessableEntity)
            #expect(text.apiError?.fields?["file"] == "unsupported_file_type")
            let tiny = try await shiming.upload(path, file: TestFiles.png(width: 120, height: 90), headers: shiming.bearer(token))
            #expect(tiny.apiError?.fields?["file"] == "image_too_small")
            let json = try await shiming.send(.POST, path, headers: shiming.bearer(token), json: ["file": "x"])
            #expect(json.apiError?.fields?["file"] == "required")
            let jpeg = try await shiming.upload(path, file: TestFiles.jpegHeader(width: 1024, height: 768), filename: "a.bin", headers: shiming.bearer(token))
            #expect(jpeg.status == .created, "\(jpeg.text)")
            #expect(try await StoredFileRecord.query(on: shiming.db).count() == 1)
            let names = try FileManager.default.subpathsOfDirectory(atPath: shiming.configuration.dataDirectory + "/files").filter { $0.hasSuffix(".bin") }
            #expect(names.count == 1, "refused uploads leave no file behind")
        }
    }

    @Test("staff cannot decide their own request; the refusal is audited")
    func ownRequest() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.sun")
            let request = try await shiming.send(.POST, "/api/v1/me/change-requests", headers: shiming.bearer(admin),
                                                 json: ["field": "gender", "newValue": "male", "reason": "登记错误"]).json(Body.self)
            _ = try await shiming.upload("/api/v1/me/change-requests/\(request.id)/proofs", file: TestFiles.pdf, headers: shiming.bearer(admin))
            let response = try await shiming.send(.POST, "/api/v1/admin/change-requests/\(request.id)/decision", headers: shiming.bearer(admin),
                                                  json: ["outcome": "approve"])
            #expect(response.status == .forbidden && response.apiError?.code == "conflict_of_interest")
            #expect(try await AuditLog.latest(5, on: shiming.db).map(\.action).contains("change_request.decision_refused"))
            #expect(try await ChangeRequestRecord.query(on: shiming.db).first()?.state == "pending")
        }
    }
}
