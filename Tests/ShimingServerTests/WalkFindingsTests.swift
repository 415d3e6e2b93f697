import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// What a first walk through P1–P5 found (issue 11): a student registered with the guardian's
/// phone could not sign in, incomplete applications used up submissions, resubmissions counted
/// against the limit, and the history named the applicant for what the system or staff did.
@Suite("Walk findings: guardian sign-in, incomplete submits, the application limit, who did what")
struct WalkFindingsTests {
    @Test("P4: the guardian variant needs a username; the guardian phone signs in one student, and asks siblings for their username")
    func guardianSignIn() async throws {
        try await withShiming { shiming in
            let nameless = try await shiming.postRegistration(["guardianPhone": "13900139031", "password": goodPassword])
            #expect(nameless.status == .unprocessableEntity)
            #expect(nameless.apiError?.fields?["username"] == "required")
            #expect(try await AccountRecord.query(on: shiming.db).count() == 0, "nothing stored")

            func student(_ username: String, password: String = goodPassword) async throws {
                let created = try #require(try await shiming.registerAccount(username: username, guardianPhone: "13900139031", password: password))
                let code = try #require(try await shiming.latestCode(to: "13900139031"))
                let confirmed = try await shiming.send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": code])
                #expect(confirmed.status == .ok, "\(confirmed.text)")
            }
            try await student("xiaoming")
            // The guardian phone belongs to one student: it signs that student in.
            _ = try await shiming.signIn("13900139031")
            let wrong = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13900139031", "password": "Wrong-2026!x"])
            #expect(wrong.apiError?.code == "invalid_credentials")

            // A sister registers with the same phone: the phone no longer names one account.
            shiming.clock.advance(by: 61)
            try await student("xiaohong", password: "Another-2026!")
            for password in [goodPassword, "Another-2026!"] {
                let ambiguous = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13900139031", "password": password])
                #expect(ambiguous.status == .unprocessableEntity)
                #expect(ambiguous.apiError?.code == "login_ambiguous")
                #expect(ambiguous.apiError?.fields?["login"] == "ambiguous")
            }
            let stranger = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13900139031", "password": "Wrong-2026!x"])
            #expect(stranger.apiError?.code == "invalid_credentials", "a wrong password learns nothing about the siblings")
            _ = try await shiming.signIn("xiaoming")
            _ = try await shiming.signIn("xiaohong", password: "Another-2026!")
        }
    }

    @Test("submitting with required parts missing is refused with every part named, and uses up no submission")
    func incompleteSubmit() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138031")
            let item = try await shiming.createCase(token, ["program": "senior-personal"])
            for _ in 1...4 {
                let refused = try await shiming.send(.POST, "/api/v1/cases/\(item.id)/submit", headers: shiming.bearer(token))
                #expect(refused.status == .unprocessableEntity)
                #expect(refused.apiError?.code == "application_incomplete")
                #expect(refused.apiError?.fields == [
                    "identity.name": "required", "identity.documentType": "required", "identity.documentNumber": "required",
                    "identity.gender": "required", "identity.address": "required",
                    "documents.id_front": "required", "documents.id_back": "required", "documents.household_register": "required",
                ])
            }
            let unchanged = try await shiming.getCase(token, item.id)
            #expect(unchanged.state == "draft" && unchanged.history.count == 1 && unchanged.checks.isEmpty)

            // Filled in, with a mistyped number: the checks that need a valid number say they did not run.
            let mistyped = String(adultFemale.dropLast()) + (adultFemale.last == "1" ? "2" : "1")
            let patched = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: token, [
                "identity": ["name": "钱芳", "documentType": "resident", "documentNumber": mistyped, "gender": "female",
                             "address": "北京市西城区某某街道 1 号"],
            ])
            #expect(patched.status == .ok, "\(patched.text)")
            for kind in ["id_front", "id_back", "household_register"] { try await shiming.addDocument(token, item.id, kind: kind) }
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.state == "returned")
            #expect(returned.failed.filter { $0.code != "not_run" }.map(\.code) == ["invalid_checksum"])
            for check in ["age", "consistency"] {
                let result = try #require(returned.checks.first { $0.check == check })
                #expect(result.code == "not_run" && !result.passed, "\(check) could not run, so it did not pass")
            }
            #expect(returned.checks.first { $0.check == "frequency" }?.reason.contains("第 1 次") == true)
        }
    }

    @Test("a case returned twice and resubmitted twice stays one application; only new ones count against the limit")
    func resubmissionsDoNotCount() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.walk")
            let (_, token) = try await shiming.activeApplicant(phone: "13800138032")
            func complete(_ number: String) async throws -> CaseReply {
                let item = try await shiming.seniorCase(token, name: "孙丽", number: number)
                return item
            }
            let first = try await complete(adultFemale)
            #expect(try await shiming.submitCase(token, first.id)?.state == "needs_review")
            for round in 1...2 {
                #expect(try await shiming.decide(first.id, staff: reviewer, "return", reasons: ["document_unreadable"]).state == "returned")
                let again = try #require(try await shiming.submitCase(token, first.id))
                #expect(again.state == "needs_review", "resubmission \(round) is not refused")
                #expect(again.checks.first { $0.check == "frequency" }?.reason.contains("不计入申请次数（7 天内已有 1 次新申请") == true,
                        "a resubmission, not a new application")
            }
            // Two more new applications fill the limit of three; a fourth is refused.
            for number in [residentID(birth: "19600101", sequence: "322"), residentID(birth: "19610101", sequence: "342")] {
                #expect(try await shiming.submitCase(token, try await complete(number).id)?.state == "needs_review")
            }
            let fourth = try await complete(residentID(birth: "19620101", sequence: "362"))
            let limited = try await shiming.send(.POST, "/api/v1/cases/\(fourth.id)/submit", headers: shiming.bearer(token))
            #expect(limited.status == .tooManyRequests && limited.apiError?.code == "application_limit")
            // The returned first case can still be resubmitted.
            #expect(try await shiming.decide(first.id, staff: reviewer, "return", reasons: ["document_unreadable"]).state == "returned")
            #expect(try await shiming.submitCase(token, first.id)?.state == "needs_review")
        }
    }

    @Test("the history names the applicant, the system and staff for what each did; a verification fills the profile")
    func historyActors() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.actors")
            let (_, token) = try await shiming.activeApplicant(phone: "13800138033")
            let item = try await shiming.seniorCase(token, name: "周敏", number: adultFemale, gender: "male")
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.history.map(\.action) == ["create", "submit", "start_checks", "checked_returned"])
            #expect(returned.history.map(\.by) == ["applicant", "applicant", "system", "system"])
            _ = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(item.id)", token: token, ["identity": ["gender": "female"]])
            _ = try await shiming.submitCase(token, item.id)
            let back = try await shiming.decide(item.id, staff: reviewer, "return", reasons: ["document_unreadable"])
            #expect(Array(back.history.suffix(2).map(\.by)) == ["staff", "staff"])
            _ = try await shiming.submitCase(token, item.id)
            let verified = try await shiming.decide(item.id, staff: reviewer, "approve")
            #expect(verified.state == "verified")
            #expect(Array(verified.history.suffix(3).map(\.action)) == ["start_review", "reviewed_approve", "verify"])
            #expect(Array(verified.history.suffix(3).map(\.by)) == ["staff", "staff", "staff"])

            struct Me: Decodable { var legalName: String?; var gender: String? }
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).json(Me.self)
            #expect(me.legalName == "周*" && me.gender == "female")
            let (headers, _) = try await shiming.webSession("13800138033")
            let requests = try await shiming.send(.GET, "/account/change-requests", headers: headers).text
            #expect(requests.contains("data-field=\"legalName\">周*<") && requests.contains("data-field=\"gender\">女<"), "change requests start from what is on record")
            let profile = try await shiming.send(.GET, "/account/profile", headers: headers).text
            #expect(profile.contains(">周*<") && profile.contains(">女<"), "the profile shows the verified name and gender, masked")
        }
    }

    @Test("a returned case says which item to fix and the reviewer's words; the edit button opens that step")
    func returnedSaysWhatToFix() async throws {
        try await withShiming { shiming in
            let reviewerToken = try await shiming.staff([.reviewer], username: "reviewer.fix")
            _ = try await shiming.activeApplicant(phone: "13800138034")
            let token = try await shiming.signIn("13800138034")
            let item = try await shiming.seniorCase(token, name: "吴兰", number: adultFemale)
            _ = try await shiming.submitCase(token, item.id)
            let (waitingHeaders, _) = try await shiming.webSession("13800138034")
            let waiting = try await shiming.send(.GET, "/cases/\(item.id)", headers: waitingHeaders).text
            #expect(waiting.contains("<li class=\"done\">✓ 已提交</li><li class=\"current\" aria-current=\"step\">审核中</li><li class=\"todo\">已认证</li>"))
            #expect(waiting.contains("一般 3 个工作日内处理"), "senior services answer within 72 hours")
            let task = try #require(try await shiming.task(for: item.id, staff: reviewerToken))
            let path = "/api/v1/review/tasks/\(task.id)/decision"
            let badField = try await shiming.sendObject(.POST, path, token: reviewerToken, [
                "outcome": "return", "reasons": ["document_unreadable"], "fields": ["document_unreadable": "documents.business_licence"]])
            #expect(badField.apiError?.fields == ["fields": "invalid_value"], "a document the program does not have")
            let strayKey = try await shiming.sendObject(.POST, path, token: reviewerToken, [
                "outcome": "return", "reasons": ["document_unreadable"], "fields": ["incomplete": "identity.address"]])
            #expect(strayKey.apiError?.fields == ["fields": "invalid_value"], "a field for a reason not given")
            let tooLong = try await shiming.sendObject(.POST, path, token: reviewerToken, [
                "outcome": "return", "reasons": ["document_unreadable"], "message": String(repeating: "长", count: 501)])
            #expect(tooLong.apiError?.fields == ["message": "invalid_length"])
            #expect(try await shiming.getCase(token, item.id).state == "needs_review", "refusals change nothing")

            let decided = try await shiming.sendObject(.POST, path, token: reviewerToken, [
                "outcome": "return", "reasons": ["document_unreadable"], "fields": ["document_unreadable": "documents.household_register"],
                "message": "户口簿请拍本人那一页，不要只拍封面。", "note": "内部：封面"])
            #expect(decided.status == .ok, "\(decided.text)")
            let returned = try await shiming.getCase(token, item.id)
            #expect(returned.decision?.reasons.first?.field == "documents.household_register")
            #expect(returned.decision?.reasons.first?.message.hasPrefix("「户口簿」") == true)
            struct WithMessage: Decodable { struct Decision: Decodable { var message: String? }; var decision: Decision? }
            let body = try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(token)).json(WithMessage.self)
            #expect(body.decision?.message == "户口簿请拍本人那一页，不要只拍封面。")
            #expect(!(try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(token)).text.contains("内部")), "the note stays inside")

            let (headers, _) = try await shiming.webSession("13800138034")
            let page = try await shiming.send(.GET, "/cases/\(item.id)", headers: headers)
            #expect(page.text.contains("<li class=\"current\" aria-current=\"step\">已提交</li>"), "the progress line shows where it is")
            #expect(page.text.contains("400-800-1234"), "the help line while waiting")
            #expect(page.text.contains("id=\"edit-case\" href=\"/cases/\(item.id.uuidString.lowercased())/edit/documents\""))
            #expect(page.text.contains("户口簿请拍本人那一页"))
            #expect(page.text.contains("审核人员的意见见上方"))
            let audit = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "case.reviewed").first())
            #expect(!audit.details.contains("户口簿请拍"), "the words stay out of the audit details")
        }
    }

    @Test("verify once: a second program starts from the first verification — details it asks for, documents it accepts")
    func verifyOnce() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.once")
            let (_, token) = try await shiming.activeApplicant(phone: "13800138035")
            let first = try await shiming.createCase(token, ["program": "credit-bank",
                                                             "identity": ["name": "郑洁", "documentType": "resident", "documentNumber": adultFemale,
                                                                          "gender": "female"]])
            try await shiming.addDocument(token, first.id, kind: "id_front")
            _ = try await shiming.submitCase(token, first.id)
            #expect(try await shiming.decide(first.id, staff: reviewer, "approve").state == "verified")

            let second = try await shiming.createCase(token, ["program": "senior-personal"])
            #expect(second.identity.name == "郑*" && second.identity.documentNumber == ResidentIDNumber.mask(adultFemale))
            #expect(second.documents.map(\.kind) == ["id_front"], "the ID photo is reused; senior services accept it")
            let copied = try #require(second.documents.first)
            let original = try #require(try await shiming.getCase(token, first.id).documents.first)
            #expect(copied.id != original.id)
            let picture = try await shiming.send(.GET, "/api/v1/cases/\(second.id)/documents/\(copied.id)", headers: shiming.bearer(token))
            #expect(picture.status == .ok && picture.body.readableBytes > 0)
            // Only what senior services ask for besides is missing.
            let missing = try await shiming.send(.POST, "/api/v1/cases/\(second.id)/submit", headers: shiming.bearer(token))
            #expect(missing.apiError?.fields == ["identity.address": "required", "documents.id_back": "required", "documents.household_register": "required"])
            let created = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "case.created")
                .filter(\.$subject == "case:\(second.id.uuidString.lowercased())").first())
            #expect(created.details.contains("prefilledFrom") && created.details.contains("documentsReused"))

            let blank = try await shiming.createCase(token, ["program": "e-commerce", "prefill": false])
            #expect(blank.identity.name == nil && blank.documents.isEmpty)
        }
    }

    @Test("pages: the terms and privacy texts are pages linked from registration; large type is one tap and remembered; programs lead back after sign-in")
    func pages() async throws {
        try await withShiming { shiming in
            for path in ["/terms", "/privacy"] {
                let page = try await shiming.send(.GET, path, headers: ["Accept": "text/html"])
                #expect(page.status == .ok && page.text.contains("<h2>"), "\(path)")
            }
            let register = try await shiming.send(.GET, "/register", headers: ["Accept": "text/html"])
            #expect(register.text.contains("href=\"/terms\"") && register.text.contains("href=\"/privacy\""))
            #expect(!(try await shiming.send(.GET, "/", headers: ["Accept": "text/html"]).text.contains("导出")), "no promise of what does not exist yet")

            let on = try await shiming.send(.GET, "/elder/on?next=%2Fprograms", headers: ["Accept": "text/html"])
            #expect(on.status == .seeOther && on.headers.first(name: .location) == "/programs")
            let cookie = try #require(on.headers.setCookie?[PageMode.cookie]?.string)
            let large = try await shiming.send(.GET, "/programs", headers: ["Accept": "text/html", "Cookie": "\(PageMode.cookie)=\(cookie)"])
            #expect(large.text.contains("<html lang=\"zh-CN\" class=\"elder\">") && large.text.contains("/elder/off?next="))
            let normal = try await shiming.send(.GET, "/programs", headers: ["Accept": "text/html"])
            #expect(!normal.text.contains("class=\"elder\"") && normal.text.contains("/elder/on?next="))
            #expect(try await shiming.send(.GET, "/elder/on?next=%2F%2Fevil.example", headers: ["Accept": "text/html"]).headers.first(name: .location) == "/")

            // "Start" on a program, signed out: sign in, then straight to that program.
            #expect(normal.text.contains("/signin?next=%2Fcases%23start-senior-personal"))
            _ = try await shiming.activeApplicant(phone: "13800138036")
            let form = try await shiming.send(.GET, "/signin?next=%2Fcases%23start-senior-personal", headers: ["Accept": "text/html"])
            #expect(form.text.contains("name=\"next\" value=\"/cases#start-senior-personal\""))
            let session = try await shiming.send(.GET, "/signin", headers: ["Accept": "text/html"])
            let csrfCookie = try #require(session.headers.setCookie?[PageCSRF.cookie]?.string)
            let signedIn = try await shiming.postForm("/signin", ["_csrf": csrfCookie, "login": "13800138036", "password": goodPassword,
                                                                  "next": "/cases#start-senior-personal"],
                                                      headers: ["Accept": "text/html", "Cookie": "\(PageCSRF.cookie)=\(csrfCookie)"])
            #expect(signedIn.headers.first(name: .location) == "/cases#start-senior-personal")
            let elsewhere = try await shiming.postForm("/signin", ["_csrf": csrfCookie, "login": "13800138036", "password": goodPassword,
                                                                   "next": "https://evil.example/"],
                                                       headers: ["Accept": "text/html", "Cookie": "\(PageCSRF.cookie)=\(csrfCookie)"])
            #expect(elsewhere.headers.first(name: .location) == "/account")
            for sneaky in ["//evil.example/", "/\t/evil.example/", "/\\evil.example", "https://evil.example/"] {
                #expect(WebAccountsController.localPath(sneaky) == nil, "\(sneaky) is not a path on this site")
            }
            #expect(WebAccountsController.localPath("/cases#start-e-commerce") == "/cases#start-e-commerce")
        }
    }

    @Test("staff: the account behind a duplicate is one link away, accounts are found by document number (audited), values read as words, a freeze without a reason is marked")
    func staffFindings() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.supervisor], username: "supervisor.walk")
            var cases: [(UUID, UUID)] = []
            for phone in ["13800138037", "13800138038"] {
                let (accountID, token) = try await shiming.activeApplicant(phone: phone)
                let item = try await shiming.seniorCase(token, name: "冯英", number: adultFemale)
                _ = try await shiming.submitCase(token, item.id)
                cases.append((accountID, item.id))
            }
            let (headers, csrf) = try await shiming.webSession("supervisor.walk")
            let page = try await shiming.send(.GET, "/staff/review/cases/\(cases[1].1)", headers: headers)
            #expect(page.status == .ok)
            #expect(page.text.contains("href=\"/staff/accounts?id=\(cases[0].0.uuidString.lowercased())\""), "the other account is linked")
            #expect(page.text.contains("老年服务个人认证 · "), "programs by their titles")
            #expect(page.text.contains("data-field=\"identity.gender\">女<"), "gender in words")
            #expect(!page.text.contains(">female<"))

            let byNumber = try await shiming.send(.GET, "/staff/accounts?number=\(adultFemale.lowercased())", headers: headers)
            for (accountID, _) in cases { #expect(byNumber.text.contains("/staff/accounts?id=\(accountID.uuidString.lowercased())")) }
            #expect(!byNumber.text.contains(adultFemale), "the number is not echoed")
            let looked = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.looked_up_by_number").first())
            #expect(looked.details.contains("\"matches\":\"2\"") && !looked.details.contains(adultFemale))
            let one = try await shiming.send(.GET, "/staff/accounts?id=\(cases[0].0)", headers: headers)
            #expect(one.text.contains("data-account=\"\(cases[0].0.uuidString.lowercased())\"") && one.text.contains("申请人"))

            // Approving from the page sends every "which item" choice empty and no words: that is fine.
            let task = try #require(try await shiming.task(for: cases[1].1, staff: try await shiming.signIn("supervisor.walk")))
            let approved = try await shiming.postForm("/staff/review/tasks/\(task.id)/decision",
                                                      ["_csrf": csrf, "outcome": "approve", "fields[document_unreadable]": "", "message": "", "note": ""],
                                                      headers: headers)
            #expect(approved.status == .seeOther, "\(approved.text)")
            let noReason = try await shiming.postForm("/staff/accounts/\(cases[0].0)/freeze", ["_csrf": csrf, "reason": " "], headers: headers)
            #expect(noReason.status == .unprocessableEntity && noReason.text.contains("field-reason-error"))
            let frozen = try await shiming.postForm("/staff/accounts/\(cases[0].0)/freeze", ["_csrf": csrf, "reason": "资料存疑，请联系我们。"], headers: headers)
            #expect(frozen.status == .ok, "\(frozen.text)")

            // The frozen holder is offered nothing that only leads to a refusal, and a refusal says where to go.
            let (holder, holderCSRF) = try await shiming.webSession("13800138037")
            let list = try await shiming.send(.GET, "/cases", headers: holder)
            #expect(list.status == .ok && !list.text.contains("id=\"start-"))
            let refused = try await shiming.postForm("/cases", ["_csrf": holderCSRF, "program": "e-commerce"], headers: holder)
            #expect(refused.status == .forbidden)
            #expect(refused.text.contains("资料存疑，请联系我们。如有异议") && !refused.text.contains("。。"))
            #expect(refused.text.contains("href=\"/cases\""))
        }
    }

    @Test("sign-in with an SMS code: one phone, one account, the same lock after repeated failures; a code is single use")
    func codeSignIn() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant(phone: "13800138039")
            shiming.clock.advance(by: 61)
            let asked = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138039", "purpose": "sign_in"])
            #expect(asked.status == .accepted)
            try await shiming.deliverOutbox()
            let message = try #require(shiming.sink.messages.last { $0.to == "13800138039" && $0.template == "sign_in" })
            let code = try #require(message.code)
            #expect(message.text.contains("登录验证码") && !message.text.contains("锁定"))
            let both = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138039", "password": goodPassword, "code": code])
            #expect(both.status == .unprocessableEntity, "a password or a code, not both")
            let signedIn = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138039", "code": code])
            #expect(signedIn.status == .created, "\(signedIn.text)")
            let again = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138039", "code": code])
            #expect(again.status == .unauthorized, "single use")
            for _ in 1...4 { _ = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138039", "code": "000000"]) }
            let locked = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138039", "password": goodPassword])
            #expect(locked.apiError?.code == "sign_in_locked", "wrong codes count as failed sign-ins")

            // A guardian phone shared by two students gets no sign-in code.
            for name in ["xiaolan", "xiaozhu"] {
                shiming.clock.advance(by: 61)
                let created = try #require(try await shiming.registerAccount(username: name, guardianPhone: "13900139032"))
                let confirm = try #require(try await shiming.latestCode(to: "13900139032"))
                _ = try await shiming.send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": confirm])
            }
            shiming.clock.advance(by: 61)
            let before = shiming.sink.messages.count
            let shared = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13900139032", "purpose": "sign_in"])
            #expect(shared.status == .accepted)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.count == before, "nothing sent: the phone names two accounts")

            // On the pages.
            let form = try await shiming.send(.GET, "/signin", headers: ["Accept": "text/html"])
            #expect(form.text.contains("href=\"/signin/code\""))
        }
    }

    @Test("pages: the roll's schools, grades and classes are offered as choices; in large type a step asks one question per page")
    func rollChoicesAndOneQuestionPerPage() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.roll")
            _ = try await shiming.importRoster("""
            name,id_number,school,grade,class,enrolment_year
            王小明,\(residentID(birth: "20120301", sequence: "113")),第一中学,初一,10班,2025
            李小红,\(residentID(birth: "20120405", sequence: "124")),第一中学,初一,2班,2025
            张小刚,\(residentID(birth: "20110607", sequence: "135")),第一中学,初二,2 班,2024
            """, admin: admin)
            _ = try await shiming.activeApplicant(phone: "13800138040")
            let (headers, csrf) = try await shiming.webSession("13800138040")
            let created = try await shiming.postForm("/cases", ["_csrf": csrf, "program": "education-card"], headers: headers)
            let base = String(try #require(created.headers.first(name: .location)).dropLast("/edit/identity".count))

            let details = try await shiming.send(.GET, "\(base)/edit/details", headers: headers).text
            #expect(details.contains("<select id=\"field-school.school\" name=\"school.school\">"))
            #expect(details.contains("<option value=\"第一中学\">第一中学</option>"))
            let classes = details.components(separatedBy: "name=\"school.class\">").last?.components(separatedBy: "</select>").first ?? ""
            #expect(classes.contains("2班") && classes.contains("10班") && !classes.contains("2 班"), "one option per class, spelled as in the roll's first grade")
            let two = try #require(classes.range(of: "2班")), ten = try #require(classes.range(of: "10班"))
            #expect(two.lowerBound < ten.lowerBound, "2班 before 10班")
            #expect(details.contains("<option value selected=\"selected\">请选择</option>"), "the relation is not chosen for the person")

            // Large type: one question per page, each saved on its own.
            var elder = headers
            elder.replaceOrAdd(name: "Cookie", value: (headers.first(name: "Cookie") ?? "") + "; \(PageMode.cookie)=1")
            let first = try await shiming.send(.GET, "\(base)/edit/identity", headers: elder).text
            #expect(first.contains("第 1 项，共 4 项") && first.contains("name=\"identity.name\"") && !first.contains("name=\"identity.documentNumber\""))
            let answered = try await shiming.postForm("\(base)/edit/identity", ["_csrf": csrf, "_q": "0", "identity.name": "王小明"], headers: elder)
            #expect(answered.headers.first(name: .location) == "\(base)/edit/identity?q=1")
            let second = try await shiming.send(.GET, "\(base)/edit/identity?q=1", headers: elder).text
            #expect(second.contains("第 2 项，共 4 项") && second.contains("name=\"identity.documentType\"") && second.contains("上一项"))
            let empty = try await shiming.postForm("\(base)/edit/identity", ["_csrf": csrf, "_q": "1", "identity.documentType": ""], headers: elder)
            #expect(empty.status == .unprocessableEntity && empty.text.contains("第 2 项") && empty.text.contains("field-identity.documentType-error"))
            let last = try await shiming.postForm("\(base)/edit/identity", ["_csrf": csrf, "_q": "3", "identity.gender": ""], headers: elder)
            #expect(last.headers.first(name: .location) == "\(base)/edit/details", "the last question leads to the next step")
        }
    }
}
