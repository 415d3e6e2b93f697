import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Application pages: the step-by-step form and the status page")
struct CasePagesTests {
    @Test("an applicant fills the steps, sees what is missing before submitting, submits and reads the reasons and the timeline")
    func steps() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant(phone: "13800138020")
            let (headers, csrf) = try await shiming.webSession("13800138020")
            let anonymous = try await shiming.send(.GET, "/cases", headers: ["Accept": "text/html"])
            #expect(anonymous.status == .seeOther)
            let list = try await shiming.send(.GET, "/cases", headers: headers)
            #expect(list.text.contains("start-senior-personal"))

            let created = try await shiming.postForm("/cases", ["_csrf": csrf, "program": "senior-personal"], headers: headers)
            #expect(created.status == .seeOther)
            let identityPath = try #require(created.headers.first(name: .location))
            #expect(identityPath.hasSuffix("/edit/identity"))
            let base = String(identityPath.dropLast("/edit/identity".count))
            let caseID = try #require(UUID(uuidString: String(base.split(separator: "/").last ?? "")))

            // The "please choose" option submits an empty value (not its own text).
            let form = try await shiming.send(.GET, identityPath, headers: headers)
            #expect(form.text.contains("<option value selected=\"selected\">"), "\(form.text)")
            // A wrong choice is shown next to its field and nothing is saved.
            let bad = try await shiming.postForm(identityPath, ["_csrf": csrf, "identity.name": "赵秀英", "identity.documentType": "library_card",
                                                                "identity.documentNumber": adultFemale, "identity.gender": "female"], headers: headers)
            #expect(bad.status == .unprocessableEntity)
            #expect(bad.text.contains("field-identity.documentType-error"))
            let saved = try await shiming.postForm(identityPath, ["_csrf": csrf, "identity.name": "赵秀英", "identity.documentType": "resident",
                                                                  "identity.documentNumber": adultFemale, "identity.gender": "female"], headers: headers)
            #expect(saved.headers.first(name: .location) == "\(base)/edit/details")
            let details = try await shiming.postForm("\(base)/edit/details", ["_csrf": csrf, "identity.address": "北京市西城区某某街道 1 号"], headers: headers)
            #expect(details.headers.first(name: .location) == "\(base)/edit/documents")

            var (uploadHeaders, body) = TestFiles.multipart(file: TestFiles.png(width: 1000, height: 700), filename: "front.png", fields: ["kind": "id_front"])
            for (name, value) in headers { uploadHeaders.add(name: name, value: value) }
            let upload = try await shiming.app.testing().sendRequest(.POST, "\(base)/edit/documents?_csrf=\(csrf)", headers: uploadHeaders, body: body)
            #expect(upload.headers.first(name: .location) == "\(base)/edit/documents#document-id_front", "\(upload.text)")
            let documents = try await shiming.send(.GET, "\(base)/edit/documents", headers: headers)
            #expect(documents.text.contains("data-kind=\"id_front\""))

            // The last step lists what is still missing, in words.
            let review = try await shiming.send(.GET, "\(base)/edit/review", headers: headers)
            #expect(review.text.contains("data-code=\"document_missing\""))
            #expect(review.text.contains("户口簿"))
            #expect(review.text.contains("赵**"))  // masked
            // What was typed is there behind a tap (a closed <details>), to compare with the card.
            #expect(review.text.contains("<details class=\"reveal\" data-reveal=\"identity.documentNumber\"><summary>"))
            #expect(!review.text.contains("<details class=\"reveal\" data-reveal=\"identity.documentNumber\" open"))

            // Submitting with documents missing opens the documents step with them marked, and counts nothing.
            let incomplete = try await shiming.postForm("\(base)/submit", ["_csrf": csrf], headers: headers)
            #expect(incomplete.status == .unprocessableEntity)
            #expect(incomplete.text.contains("aria-current=\"step\"><strong>3."), "the documents step")
            #expect(incomplete.text.contains("\"file-id_back-error\"") && incomplete.text.contains("\"file-household_register-error\""))
            #expect(try await CaseTransitionRecord.query(on: shiming.db).filter(\.$caseID == caseID).count() == 1)
            for kind in ["id_back", "household_register"] {
                var (headers2, body2) = TestFiles.multipart(file: TestFiles.png(width: 1000, height: 700), filename: "\(kind).png", fields: ["kind": kind])
                for (name, value) in headers { headers2.add(name: name, value: value) }
                let added = try await shiming.app.testing().sendRequest(.POST, "\(base)/edit/documents?_csrf=\(csrf)", headers: headers2, body: body2)
                #expect(added.status == .seeOther, "\(added.text)")
            }

            let submitted = try await shiming.postForm("\(base)/submit", ["_csrf": csrf], headers: headers)
            #expect(submitted.headers.first(name: .location) == "\(base)?done=submitted")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.pages")
            _ = try await shiming.decide(caseID, staff: reviewer, "return", reasons: ["document_unreadable"])
            let status = try await shiming.send(.GET, base, headers: headers)
            #expect(status.text.contains("data-state=\"returned\""))
            #expect(status.text.contains("id=\"reasons\""))
            #expect(status.text.contains("id=\"edit-case\""))
            #expect(status.text.contains("class=\"timeline\""))
            #expect(status.text.contains("data-code=\"document_unreadable\""))
            #expect(status.text.contains("等待人工审核 · 系统") && status.text.contains("退回修改 · 工作人员"), "who did what, truthfully")
            let english = try await shiming.send(.GET, base, headers: headers.merging(["Cookie": "shiming_lang=en"]))
            #expect(english.text.contains("Returned for correction") || english.text.contains("退回修改"))

            // Another account's case is not found.
            _ = try await shiming.activeApplicant(phone: "13800138021")
            let (other, _) = try await shiming.webSession("13800138021")
            let stranger = try await shiming.send(.GET, "/cases/\(caseID)", headers: other)
            #expect(stranger.status == .notFound)
        }
    }

    @Test("each step is checked when it is saved: an empty step, a wrong check digit and a too-small photo are shown at their own step")
    func errorsAtTheirStep() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant(phone: "13800138022")
            let (headers, csrf) = try await shiming.webSession("13800138022")
            let created = try await shiming.postForm("/cases", ["_csrf": csrf, "program": "senior-personal"], headers: headers)
            let identityPath = try #require(created.headers.first(name: .location))
            let base = String(identityPath.dropLast("/edit/identity".count))
            let caseID = try #require(UUID(uuidString: String(base.split(separator: "/").last ?? "")))
            func stored() async throws -> CaseApplication {
                let record = try #require(try await shiming.app.features.cases.store.cases.find(caseID))
                return try shiming.app.features.cases.application(of: record)
            }

            let empty = try await shiming.postForm(identityPath, ["_csrf": csrf, "identity.name": "", "identity.documentType": "",
                                                                  "identity.documentNumber": "", "identity.gender": ""], headers: headers)
            #expect(empty.status == .unprocessableEntity)
            for field in ["identity.name", "identity.documentType", "identity.documentNumber", "identity.gender"] {
                #expect(empty.text.contains("field-\(field)-error"), "\(field) marked")
            }
            let mistyped = String(adultFemale.dropLast()) + (adultFemale.last == "1" ? "2" : "1")
            let wrong = try await shiming.postForm(identityPath, ["_csrf": csrf, "identity.name": "赵秀英", "identity.documentType": "resident",
                                                                  "identity.documentNumber": mistyped, "identity.gender": "female"], headers: headers)
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.text.contains("field-identity.documentNumber-error") && wrong.text.contains("校验位"))
            #expect(wrong.text.contains("value=\"\(mistyped)\""), "what was typed stays in the field to be corrected")
            #expect(try await stored().identity.documentNumber == nil, "nothing saved")
            let right = try await shiming.postForm(identityPath, ["_csrf": csrf, "identity.name": "赵秀英", "identity.documentType": "resident",
                                                                  "identity.documentNumber": adultFemale, "identity.gender": "female"], headers: headers)
            #expect(right.headers.first(name: .location) == "\(base)/edit/details")

            // A 400×250 photo: refused at the upload, back at the documents step (no token in the address), the size named.
            var (uploadHeaders, body) = TestFiles.multipart(file: TestFiles.png(width: 400, height: 250), filename: "front.png", fields: ["kind": "id_front"])
            for (name, value) in headers { uploadHeaders.add(name: name, value: value) }
            let upload = try await shiming.app.testing().sendRequest(.POST, "\(base)/edit/documents?_csrf=\(csrf)", headers: uploadHeaders, body: body)
            #expect(upload.status == .seeOther)
            let location = try #require(upload.headers.first(name: .location))
            #expect(location.hasPrefix("\(base)/edit/documents?problem=document_illegible&kind=id_front") && !location.contains("_csrf"))
            let shown = try await shiming.send(.GET, location, headers: headers)
            #expect(shown.text.contains("file-id_front-error") && shown.text.contains("500 像素"))
            #expect(try await shiming.send(.GET, "\(base)/edit/documents", headers: headers).text.contains("data-kind=\"id_front\"") == false)
        }
    }
}

extension HTTPHeaders {
    /// These headers with a cookie added to the existing Cookie header.
    func merging(_ extra: [String: String]) -> HTTPHeaders {
        var headers = self
        for (name, value) in extra {
            if name == "Cookie", let existing = headers.first(name: "Cookie") {
                headers.replaceOrAdd(name: "Cookie", value: existing + "; " + value)
            } else {
                headers.replaceOrAdd(name: name, value: value)
            }
        }
        return headers
    }
}
