import Fluent
import Foundation
import IdentityRules
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

let adultFemale = residentID(birth: "19900307", sequence: "122")
let adultMale = residentID(birth: "19850612", sequence: "131")

@Suite("P1–P5 from registration to a verified account, with returns and reviews")
struct CaseScenarioTests {
    @Test("P1 online education: an illegible photo refused at upload, returned for a wrong gender, fixed, reviewed, confirmed with the second code, identity code issued")
    func p1() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138001")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.p1")
            let draft = try await shiming.createCase(token, ["program": "online-education",
                                                             "identity": ["name": "李明", "documentType": "resident", "documentNumber": adultMale, "gender": "female"]])
            #expect(draft.state == "draft")
            #expect(draft.identity.name == "李*")
            #expect(draft.identity.documentNumber == ResidentIDNumber.mask(adultMale))
            try await shiming.addDocument(token, draft.id, kind: "id_front")
            // The back photo is too small to read: refused at the upload, with the size it needs.
            var (headers, body) = TestFiles.multipart(file: TestFiles.png(width: 400, height: 300), filename: "back.png", fields: ["kind": "id_back"])
            headers.add(name: "Authorization", value: "Bearer \(token)")
            let illegible = try await shiming.app.testing().sendRequest(.POST, "/api/v1/cases/\(draft.id)/documents", headers: headers, body: body)
            #expect(illegible.status == .unprocessableEntity)
            #expect(illegible.apiError?.code == "document_illegible" && illegible.apiError?.fields == ["file": "document_illegible"])
            #expect(illegible.apiError?.message.contains("600") == true)
            #expect(try await shiming.getCase(token, draft.id).documents.count == 1)
            try await shiming.addDocument(token, draft.id, kind: "id_back")

            // Fixable: the gender contradicts the number → returned with that reason.
            let returned = try #require(try await shiming.submitCase(token, draft.id))
            #expect(returned.state == "returned")
            #expect(returned.decision?.rule == "checks.fix")
            #expect(returned.decision?.reasons.map(\.code) == ["gender_mismatch"])
            #expect(returned.decision?.reasons.first?.field == "identity.gender")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "case_returned" && $0.to == "13800138001" })

            let fixed = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(draft.id)", token: token, ["identity": ["gender": "male"]])
            #expect(fixed.status == .ok, "\(fixed.text)")
            let inReview = try #require(try await shiming.submitCase(token, draft.id))
            #expect(inReview.state == "needs_review")
            #expect(inReview.decision?.rule == "program.review_always")
            #expect(inReview.documents.count == 2)

            let approved = try await shiming.decide(draft.id, staff: reviewer, "approve")
            #expect(approved.state == "awaiting_confirmation")
            let code = try #require(try await shiming.latestCode(to: "13800138001"))
            #expect(shiming.sink.messages.last?.template == "case_confirmation")
            let wrong = try await shiming.send(.POST, "/api/v1/cases/\(draft.id)/confirm", headers: shiming.bearer(token), json: ["code": "000000" == code ? "111111" : "000000"])
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.apiError?.code == "invalid_code")
            let confirmed = try await shiming.send(.POST, "/api/v1/cases/\(draft.id)/confirm", headers: shiming.bearer(token), json: ["code": code])
            #expect(confirmed.status == .ok, "\(confirmed.text)")
            let verified = try confirmed.json(CaseReply.self)
            #expect(verified.state == "verified")
            let identityCode = try #require(verified.identityCode)
            #expect(IdentityCode.isValid(identityCode))
            #expect(verified.expiresAt != nil)
            #expect(verified.history.map(\.state) == ["draft", "submitted", "checking", "returned", "submitted", "checking", "needs_review",
                                                       "in_review", "approved", "awaiting_confirmation", "verified"])
            #expect(verified.history.last?.rule == "confirmation.entered")
            let mine = try await shiming.send(.GET, "/api/v1/cases?mine=1", headers: shiming.bearer(token))
            #expect(try mine.json([CaseReply].self).map(\.id) == [draft.id])
            // Audited in the chain.
            let actions = try await AuditEventRecord.query(on: shiming.db).filter(\.$subject == "case:\(draft.id.uuidString.lowercased())").all().map(\.action)
            #expect(Set(actions).isSuperset(of: ["case.created", "case.submitted", "case.checked", "case.reviewed", "case.confirmation_sent", "case.verified"]))
        }
    }

    @Test("P1: too many wrong confirmation codes, or none in time, lock the account until staff unlock it")
    func p1Lock() async throws {
        try await withShiming { shiming in
            let (accountID, token) = try await shiming.activeApplicant(phone: "13800138002")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.lock")
            let admin = try await shiming.staff([.admin], username: "admin.lock")
            let item = try await shiming.createCase(token, ["program": "online-education",
                                                            "identity": ["name": "王芳", "documentType": "resident", "documentNumber": adultFemale]])
            try await shiming.addDocument(token, item.id, kind: "id_front")
            try await shiming.addDocument(token, item.id, kind: "id_back")
            _ = try await shiming.submitCase(token, item.id)
            _ = try await shiming.decide(item.id, staff: reviewer, "approve")
            for attempt in 1...5 {
                let response = try await shiming.send(.POST, "/api/v1/cases/\(item.id)/confirm", headers: shiming.bearer(token), json: ["code": "abc"])
                #expect(response.apiError?.code == (attempt < 5 ? "invalid_code" : "account_locked"), "attempt \(attempt)")
            }
            let status = try await AccountRecord.find(accountID, on: shiming.db)?.status
            #expect(status == "locked")
            let refused = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138002", "password": goodPassword])
            #expect(refused.apiError?.code == "account_locked")

            let unlocked = try await shiming.send(.POST, "/api/v1/admin/accounts/\(accountID)/unlock", headers: shiming.bearer(admin))
            #expect(unlocked.status == .ok, "\(unlocked.text)")
            let again = try await shiming.signIn("13800138002")
            let resent = try await shiming.send(.POST, "/api/v1/cases/\(item.id)/confirm/resend", headers: shiming.bearer(again))
            #expect(resent.status == .ok, "\(resent.text)")
            let code = try #require(try await shiming.latestCode(to: "13800138002"))

            // Not entered in time: the sweep locks the account.
            shiming.clock.advance(by: 31 * 60)
            let swept = try await shiming.app.features.cases.sweep()
            #expect(swept.locked == 1)
            #expect(try await AccountRecord.find(accountID, on: shiming.db)?.status == "locked")
            #expect(try await AccountRecord.find(accountID, on: shiming.db)?.statusReason == "confirmation_timeout")
            _ = code
        }
    }

    @Test("P2 credit bank: a reviewer returns an unreadable photo; the learner re-uploads; approved and verified without a second code")
    func p2() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138003")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.p2")
            let item = try await shiming.createCase(token, ["program": "credit-bank",
                                                            "identity": ["name": "张伟", "documentType": "resident", "documentNumber": adultMale]])
            try await shiming.addDocument(token, item.id, kind: "id_front")
            #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
            let returned = try await shiming.decide(item.id, staff: reviewer, "return", reasons: ["document_unreadable"], note: "模糊")
            #expect(returned.state == "returned")
            #expect(returned.decision?.reasons.first?.message.contains("看不清") == true)
            #expect(returned.decision?.decidedBy == "staff")
            // The applicant never sees the staff note.
            let seen = try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(token))
            #expect(!seen.text.contains("模糊"))
            try await shiming.addDocument(token, item.id, kind: "id_front", replace: true)
            #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
            let verified = try await shiming.decide(item.id, staff: reviewer, "approve")
            #expect(verified.state == "verified")
            #expect(verified.identityCode == nil)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "case_verified" && $0.to == "13800138003" })
        }
    }

    @Test("P3 re-check: reminded once, 30 days before the year runs out; a renewal replaces the old verification, no renewal lets it expire")
    func p3Renewal() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.reviewer], username: "reviewer.renewal")
            func verifiedCase(_ token: String, _ number: String, renews: UUID? = nil) async throws -> CaseReply {
                let reviewer = try await shiming.signIn("reviewer.renewal")
                let item = try await shiming.createCase(token, renews.map { ["program": "senior-personal", "renews": $0.uuidString] } ??
                                                        ["program": "senior-personal",
                                                         "identity": ["name": "赵秀英", "documentType": "resident", "documentNumber": number,
                                                                      "gender": "female", "address": "北京市西城区某某街道 1 号"]])
                #expect(item.identity.documentNumber == "\(number.prefix(6))********\(number.suffix(4))", "the details are there (masked)")
                for kind in ["id_front", "id_back", "household_register"] { try await shiming.addDocument(token, item.id, kind: kind) }
                #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
                return try await shiming.decide(item.id, staff: reviewer, "approve")
            }
            func sent(_ template: String, to phone: String) async throws -> Int {
                try await shiming.deliverOutbox()
                return shiming.sink.messages.filter { $0.template == template && $0.to == phone }.count
            }
            var (_, renewing) = try await shiming.activeApplicant(phone: "13800138016")
            var (_, lapsing) = try await shiming.activeApplicant(phone: "13800138017")
            let first = try await verifiedCase(renewing, adultFemale)
            let other = try await verifiedCase(lapsing, residentID(birth: "19470911", sequence: "244"))
            let expiresAt = try #require(first.expiresAt)
            #expect(abs(expiresAt.timeIntervalSince(shiming.clock.now()) - 365 * 86_400) <= 86_400)
            let sweeper = shiming.app.features.cases

            shiming.clock.set(expiresAt.addingTimeInterval(-31 * 86_400))
            #expect(try await sweeper.sweep() == .init())
            shiming.clock.set(expiresAt.addingTimeInterval(-29 * 86_400))
            #expect(try await sweeper.sweep() == .init(reminded: 2))
            #expect(try await sweeper.sweep() == .init(), "reminded once only")
            (renewing, lapsing) = (try await shiming.signIn("13800138016"), try await shiming.signIn("13800138017"))
            #expect(try await sent("case_renewal_due", to: "13800138016") == 1)
            #expect(try await sent("case_renewal_due", to: "13800138017") == 1)
            let reminder = try #require(shiming.sink.messages.last { $0.template == "case_renewal_due" })
            #expect(reminder.text.contains(ChinaTime.day(expiresAt)))
            #expect(try await shiming.getCase(renewing, first.id).state == "verified")

            // One renews (updated details, reviewed again): the old verification ends with the rule that ended it.
            let renewal = try await verifiedCase(renewing, adultFemale, renews: first.id)
            let refused = try await shiming.sendObject(.POST, "/api/v1/cases", token: lapsing, ["program": "senior-personal", "renews": first.id.uuidString])
            #expect(refused.apiError?.fields?["renews"] == "invalid_value", "another account's case cannot be renewed")
            #expect(renewal.state == "verified")
            let old = try await shiming.getCase(renewing, first.id)
            #expect(old.state == "expired")
            #expect(old.history.last?.rule == "program.renewed")

            // The other does nothing: at the date the verification expires and they are told.
            shiming.clock.set(expiresAt.addingTimeInterval(60))
            #expect(try await sweeper.sweep() == .init(expired: 1))
            (renewing, lapsing) = (try await shiming.signIn("13800138016"), try await shiming.signIn("13800138017"))
            #expect(try await shiming.getCase(lapsing, other.id).state == "expired")
            #expect(try await sent("case_expired", to: "13800138017") == 1)
            #expect(try await sent("case_expired", to: "13800138016") == 0)
            #expect(try await shiming.getCase(renewing, renewal.id).state == "verified")
            let events = try await AuditEventRecord.query(on: shiming.db).filter(\.$subject == "case:\(other.id.uuidString.lowercased())").all().map(\.action)
            #expect(events.contains("case.renewal_reminded") && events.contains("case.expired"))
        }
    }

    @Test("P3 personal: a gender that contradicts the number is returned, fixed by PATCH, reviewed and verified")
    func p3Personal() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138004")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.p3")
            let item = try await shiming.seniorCase(token, name: "赵秀英", number: adultFemale, gender: "male")
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.state == "returned")
            #expect(returned.failed.map(\.code) == ["gender_mismatch"])
            let patched = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: token, ["identity": ["gender": "female"]])
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
            #expect(try await shiming.decide(item.id, staff: reviewer, "approve").state == "verified")
            // Final: no more edits.
            let late = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: token, ["identity": ["gender": "male"]])
            #expect(late.status == .conflict)
            #expect(late.apiError?.code == "case_not_editable")
        }
    }

    @Test("P3 organisation: licence and representative checked, reviewed and verified; a reviewer cannot decide their own case")
    func p3Organisation() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138005")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.p3o")
            let item = try await shiming.createCase(token, [
                "program": "senior-organisation",
                "identity": ["name": "孙丽", "documentType": "resident", "documentNumber": adultFemale, "address": "上海市黄浦区某路 8 号"],
                "organisation": ["name": "阳光养老服务中心", "creditCode": "91110000600037341L", "representative": "孙丽"],
            ])
            try await shiming.addDocument(token, item.id, kind: "business_licence")
            try await shiming.addDocument(token, item.id, kind: "id_front")
            let submitted = try #require(try await shiming.submitCase(token, item.id))
            #expect(submitted.state == "needs_review", "\(submitted.failed.map(\.code))")
            #expect(try await shiming.decide(item.id, staff: reviewer, "approve").state == "verified")

            // A section the program does not have is refused, naming it.
            let wrong = try await shiming.sendObject(.POST, "/api/v1/cases", token: token, ["program": "senior-organisation", "school": ["school": "x"]])
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.apiError?.fields?["school"] == "not_in_program")
        }
    }

    @Test("P4 education card: matched with the roll → verified at once; a differing class → the class teacher (only) decides")
    func p4() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.p4")
            let teacher = try await shiming.staff([.teacher], username: "teacher.p4", scope: ("第一中学", "初一", "2班"))
            let otherTeacher = try await shiming.staff([.teacher], username: "teacher.other", scope: ("第一中学", "初一", "3班"))
            let childA = residentID(birth: "20130405", sequence: "131")
            let childB = residentID(birth: "20130909", sequence: "142")
            let broken = String(childB.dropLast()) + (childB.last == "0" ? "1" : "0")
            let report = try await shiming.importRoster("""
            name,id_number,school,grade,class,enrolment_year,student_no
            王小明,\(childA),第一中学,初一,2班,2025,S001
            李小红,\(childB),第一中学,初一,2班,2025,S002
            张三,\(broken),第一中学,初一,2班,2025,S003
            """, admin: admin)
            #expect(report.rows == 3 && report.imported == 2)
            #expect(report.rejected == [RosterReport.Rejected(line: 4, code: "invalid_checksum", field: "id_number")])

            // Student A registers with the guardian's phone; the code carried the consent text.
            let created = try #require(try await shiming.registerAccount(username: "xiaoming", guardianPhone: "13900139001"))
            let code = try #require(try await shiming.latestCode(to: "13900139001"))
            _ = try await shiming.send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": code])
            let tokenA = try await shiming.signIn("xiaoming")
            let a = try await shiming.createCase(tokenA, [
                "program": "education-card",
                "identity": ["name": "王小明", "documentType": "resident", "documentNumber": childA],
                "school": ["school": "第一中学", "grade": "初一", "class": "2 班", "enrolmentYear": 2025],
                "guardian": ["name": "王大明", "phone": "13900139001", "relation": "father"],
            ])
            let verified = try #require(try await shiming.submitCase(tokenA, a.id))
            #expect(verified.state == "verified", "\(verified.failed.map(\.code))")
            #expect(verified.checks.first { $0.check == "registry" }?.passed == true)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "case_verified" && $0.to == "13900139001" })

            // Student B typed the wrong class: a person must look — the class teacher.
            let createdB = try #require(try await shiming.registerAccount(username: "xiaohong", guardianPhone: "13900139002"))
            let codeB = try #require(try await shiming.latestCode(to: "13900139002"))
            _ = try await shiming.send(.POST, "/api/v1/accounts/\(createdB.id)/contacts/confirm", json: ["channel": "sms", "code": codeB])
            let tokenB = try await shiming.signIn("xiaohong")
            let b = try await shiming.createCase(tokenB, [
                "program": "education-card",
                "identity": ["name": "李小红", "documentType": "resident", "documentNumber": childB],
                "school": ["school": "第一中学", "grade": "初一", "class": "3班", "enrolmentYear": 2025],
                "guardian": ["name": "李大红", "phone": "13900139002", "relation": "mother"],
            ])
            let doubtful = try #require(try await shiming.submitCase(tokenB, b.id))
            #expect(doubtful.state == "needs_review")
            #expect(doubtful.checks.first { $0.check == "registry" }?.differed == ["class"])
            // Routed to the teacher of the class the student claims (3班): the roll's 2班 teacher does not see it.
            #expect(try await shiming.task(for: b.id, staff: teacher) == nil)
            let task = try #require(try await shiming.task(for: b.id, staff: otherTeacher))
            #expect(task.routing == "class_teacher")
            let hidden = try await shiming.send(.GET, "/api/v1/review/cases/\(b.id)", headers: shiming.bearer(teacher))
            #expect(hidden.status == .notFound)
            #expect(try await shiming.decide(b.id, staff: otherTeacher, "approve").state == "verified")
        }
    }

    @Test("P4: a child under 14 without the guardian's consent is returned; the guardian consents by code; resubmitted and verified")
    func p4Consent() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.consent")
            let child = residentID(birth: "20140101", sequence: "151")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n陈小华,\(child),实验小学,六年级,1班,2020\n", admin: admin)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138006")
            let item = try await shiming.createCase(token, [
                "program": "education-card",
                "identity": ["name": "陈小华", "documentType": "resident", "documentNumber": child],
                "school": ["school": "实验小学", "grade": "六年级", "class": "1班", "enrolmentYear": 2020],
                "guardian": ["name": "陈建国", "phone": "13900139003", "relation": "father"],
            ])
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.state == "returned")
            #expect(returned.failed.map(\.code) == ["guardian_consent_missing"])
            let sent = try await shiming.send(.POST, "/api/v1/cases/\(item.id)/guardian-consent", headers: shiming.bearer(token))
            #expect(sent.status == .accepted, "\(sent.text)")
            let code = try #require(try await shiming.latestCode(to: "13900139003"))
            // The applicant's notice of the return goes out in the same delivery round, to
            // another phone and beside it, so the guardian's message need not be the last.
            #expect(shiming.sink.messages.last { $0.to == "13900139003" }?.text.contains("监护人") == true)
            let consented = try await shiming.send(.POST, "/api/v1/cases/\(item.id)/guardian-consent/confirm", headers: shiming.bearer(token), json: ["code": code])
            #expect(try consented.json(CaseReply.self).guardianConsent)
            // The consent record names the guardian and the application.
            let record = try await shiming.send(.GET, "/api/v1/me/consents", headers: shiming.bearer(token)).json(ConsentTests.Mine.self)
            #expect(record.history.first?.kind == "sensitive" && record.history.first?.givenBy == "guardian")
            #expect(try await shiming.submitCase(token, item.id)?.state == "verified")
        }
    }

    @Test("P5 e-commerce: the identity service decides: match → verified; mismatch and outage → review; a wrong gender is returned")
    func p5() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.p5")
            service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
            let (_, token) = try await shiming.activeApplicant(phone: "13800138007")
            let item = try await shiming.createCase(token, ["program": "e-commerce",
                                                            "identity": ["name": "周杰", "documentType": "resident", "documentNumber": adultMale,
                                                                         "gender": "female", "address": "广州市天河区某路 10 号"]])
            try await shiming.addDocument(token, item.id, kind: "id_front")
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.state == "returned")
            #expect(returned.failed.map(\.code) == ["gender_mismatch"])
            #expect(service.calls == 0)  // nothing to ask the service while the data is wrong
            _ = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: token, ["identity": ["gender": "male"]])
            let verified = try #require(try await shiming.submitCase(token, item.id))
            #expect(verified.state == "verified")
            #expect(verified.decision?.rule == "checks.all_passed")

            // Mismatch → review, with the differing field named.
            service.set(adultFemale, RegistryAnswer(verdict: .mismatch, matched: [.documentNumber], differed: [.name]))
            let (_, token2) = try await shiming.activeApplicant(phone: "13800138008")
            let second = try await shiming.createCase(token2, ["program": "e-commerce",
                                                               "identity": ["name": "吴静", "documentType": "resident", "documentNumber": adultFemale,
                                                                            "address": "广州市越秀区某路 2 号"]])
            try await shiming.addDocument(token2, second.id, kind: "id_front")
            let mismatch = try #require(try await shiming.submitCase(token2, second.id))
            #expect(mismatch.state == "needs_review")
            #expect(mismatch.failed.first?.differed == ["name"])
            #expect(mismatch.failed.first?.reason.contains("姓名") == true)

            // The service is down → review, no resubmission needed.
            service.setDown(true)
            let third = residentID(birth: "19791111", sequence: "017")
            let (_, token3) = try await shiming.activeApplicant(phone: "13800138009")
            let down = try await shiming.createCase(token3, ["program": "e-commerce",
                                                             "identity": ["name": "郑强", "documentType": "resident", "documentNumber": third,
                                                                          "address": "深圳市南山区某路 3 号"]])
            try await shiming.addDocument(token3, down.id, kind: "id_front")
            let unavailable = try #require(try await shiming.submitCase(token3, down.id))
            #expect(unavailable.state == "needs_review")
            #expect(unavailable.decision?.reasons.map(\.code) == ["registry_unavailable"])
            #expect(try await shiming.decide(down.id, staff: reviewer, "reject", reasons: ["suspected_fraud"]).state == "rejected")
        }
    }

    @Test("the same number on a second account is never approved silently: it goes to review as a duplicate")
    func duplicate() async throws {
        let service = FakeIdentityService()
        service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
        try await withShiming(identityService: service) { shiming in
            for (index, phone) in ["13800138010", "13800138011"].enumerated() {
                let (_, token) = try await shiming.activeApplicant(phone: phone)
                let item = try await shiming.createCase(token, ["program": "e-commerce",
                                                                "identity": ["name": "周杰", "documentType": "resident", "documentNumber": adultMale,
                                                                             "address": "广州市天河区某路 10 号"]])
                try await shiming.addDocument(token, item.id, kind: "id_front")
                let result = try #require(try await shiming.submitCase(token, item.id))
                if index == 0 {
                    #expect(result.state == "verified")
                } else {
                    #expect(result.state == "needs_review")
                    #expect(result.decision?.reasons.map(\.code) == ["duplicate_identity"])
                }
            }
        }
    }

    @Test("too many new applications within the program's window → 429 with Retry-After, and nothing changes")
    func frequency() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138012")
            func complete() async throws -> CaseReply {
                let item = try await shiming.seniorCase(token, name: "钱芳", number: adultFemale, gender: "male")
                return item
            }
            for _ in 1...3 { #expect(try await shiming.submitCase(token, try await complete().id)?.state == "returned") }
            let fourth = try await complete()
            let limited = try await shiming.send(.POST, "/api/v1/cases/\(fourth.id)/submit", headers: shiming.bearer(token))
            #expect(limited.status == .tooManyRequests)
            #expect(limited.apiError?.code == "application_limit")
            #expect(limited.headers.first(name: .retryAfter) == String(7 * 24 * 3600))
            #expect(try await shiming.getCase(token, fourth.id).history.count == 1)  // created, nothing else
            shiming.clock.advance(by: 7 * 24 * 3600 + 1)
            #expect(try await shiming.submitCase(token, fourth.id)?.state == "returned")
        }
    }

    @Test("another account's case, document or confirmation is 404; bad input names the field and changes nothing")
    func isolationAndInput() async throws {
        try await withShiming { shiming in
            let (_, owner) = try await shiming.activeApplicant(phone: "13800138013")
            let (_, stranger) = try await shiming.activeApplicant(phone: "13800138014")
            let item = try await shiming.createCase(owner, ["program": "credit-bank", "identity": ["name": "林森"]])
            for (method, path) in [(HTTPMethod.GET, "/api/v1/cases/\(item.id)"), (.POST, "/api/v1/cases/\(item.id)/submit"),
                                   (.POST, "/api/v1/cases/\(item.id)/confirm"), (.PATCH, "/api/v1/cases/\(item.id)")] {
                let body: [String: String] = method == .PATCH ? [:] : ["code": "123456"]
                let response = try await shiming.send(method, path, headers: shiming.bearer(stranger), json: body)
                #expect(response.status == .notFound, "\(method) \(path)")
            }
            let badProgram = try await shiming.sendObject(.POST, "/api/v1/cases", token: owner, ["program": "nope"])
            #expect(badProgram.apiError?.fields?["program"] == "invalid_value")
            let badType = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: owner, ["identity": ["documentType": "library_card"]])
            #expect(badType.status == .unprocessableEntity)
            #expect(badType.apiError?.fields?["identity.documentType"] == "invalid_value")
            // A text file is refused by content, whatever its name.
            var (headers, body) = TestFiles.multipart(file: Data("not a picture".utf8), filename: "photo.png", fields: ["kind": "id_front"])
            headers.add(name: "Authorization", value: "Bearer \(owner)")
            let upload = try await shiming.app.testing().sendRequest(.POST, "/api/v1/cases/\(item.id)/documents", headers: headers, body: body)
            #expect(upload.apiError?.code == "unsupported_file_type")
            #expect(try await shiming.getCase(owner, item.id).documents.isEmpty)
            // A kind the program does not ask for.
            (headers, body) = TestFiles.multipart(file: TestFiles.png(width: 800, height: 600), filename: "p.png", fields: ["kind": "business_licence"])
            headers.add(name: "Authorization", value: "Bearer \(owner)")
            let kind = try await shiming.app.testing().sendRequest(.POST, "/api/v1/cases/\(item.id)/documents", headers: headers, body: body)
            #expect(kind.apiError?.fields?["kind"] == "invalid_value")
        }
    }

    @Test("nothing of the identity data or the files is stored in the clear (database file, data dir)")
    func encryptedAtRest() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-grep-\(UUID().uuidString.prefix(8))").path
        let name = "欧阳娜娜"
        let number = residentID(birth: "19920815", sequence: "248")
        let admin = "admin.grep"
        let picture = TestFiles.png(width: 900, height: 700, shade: 0x5A)
        let needles = [Data(name.utf8), Data(number.utf8), Data(picture.suffix(64))]
        try await withShiming(dataDirectory: directory) { shiming in
            let adminToken = try await shiming.staff([.admin], username: admin)
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n\(name),\(number),第二中学,高一,1班,2024\n", admin: adminToken)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138015")
            let item = try await shiming.createCase(token, ["program": "credit-bank",
                                                            "identity": ["name": name, "documentType": "resident", "documentNumber": number]])
            try await shiming.addDocument(token, item.id, kind: "id_front", picture)
            _ = try await shiming.submitCase(token, item.id)
            if TestEngine.postgresURL != nil, let sql = shiming.db as? any SQLDatabase {
                let tables = try await sql.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").all()
                    .map { try $0.decode(column: "table_name", as: String.self) }
                #expect(tables.contains("cases") && tables.contains("roster_entries"))
                for table in tables {
                    let rows = try await sql.raw("SELECT t::text AS row FROM \(ident: table) t").all().map { try $0.decode(column: "row", as: String.self) }
                    for row in rows { #expect(!row.contains(name) && !row.contains(number), "\(table)") }
                }
            }
        }
        // Every file under the data dir: the SQLite file and its WAL, the sealed uploads, the message log.
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var checked = 0
        while let relative = enumerator?.nextObject() as? String {
            let path = (directory as NSString).appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  let data = FileManager.default.contents(atPath: path) else { continue }
            checked += 1
            for needle in needles {
                #expect(data.range(of: needle) == nil, "\(relative) holds plaintext")
            }
        }
        #expect(checked >= (TestEngine.postgresURL == nil ? 2 : 1))  // the SQLite file; the sealed upload
    }
}
