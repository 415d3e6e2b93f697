import Fluent
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Review back office: routing, claims, neutrality, reveal, contacts, four eyes")
struct ReviewBackOfficeTests {
    @Test("P4: the class's teacher (only) is told by SMS and decides; a class without a teacher goes to the supervisors' queue")
    func teacherRouting() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.route")
            let teacher = try await shiming.staff([.teacher], username: "teacher.route", scope: ("育才中学", "高一", "1班"), phone: "13700137001")
            let elsewhere = try await shiming.staff([.teacher], username: "teacher.elsewhere", scope: ("育才中学", "高一", "2班"), phone: "13700137002")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.route")
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.route")
            let first = residentID(birth: "20100204", sequence: "133"), second = residentID(birth: "20100611", sequence: "135")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n周一,\(first),育才中学,高一,1班,2025\n吴二,\(second),育才中学,高一,3班,2025\n",
                                               admin: admin)
            // Both typed a grade that differs from the roll: a person must look.
            let one = try await shiming.studentCase(phone: "13800138041", name: "周一", number: first, school: ("育才中学", "高二", "1班"))
            let two = try await shiming.studentCase(phone: "13800138042", name: "吴二", number: second, school: ("育才中学", "高二", "3班"))
            #expect(one.state == "needs_review" && two.state == "needs_review")

            // The 高二 1班 has no teacher either: scope is the class the student claims.
            let taskOne = try #require(try await shiming.task(for: one.id, staff: supervisor))
            #expect(taskOne.routing == "supervisors")
            #expect(try await shiming.task(for: one.id, staff: teacher) == nil)
            #expect(try await shiming.task(for: one.id, staff: reviewer) == nil)
            #expect(try await shiming.send(.GET, "/api/v1/review/cases/\(one.id)", headers: shiming.bearer(teacher)).status == .notFound)

            // A student who claims the teacher's class reaches that teacher, who alone is told.
            let third = residentID(birth: "20100822", sequence: "137")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n郑三,\(third),育才中学,高一,1班,2025\n", admin: admin)
            // The name differs from the roll (郑叁 vs 郑三); the class is the teacher's.
            let three = try await shiming.studentCase(phone: "13800138043", name: "郑叁", number: third, school: ("育才中学", "高一", "1 班"))
            #expect(three.state == "needs_review")
            let taskThree = try #require(try await shiming.task(for: three.id, staff: teacher))
            #expect(taskThree.routing == "class_teacher")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.filter { $0.template == "review_task_assigned" }.map(\.to) == ["13700137001"])
            #expect(try await shiming.decide(three.id, staff: teacher, "approve").state == "verified")

            // The list the database cuts is exactly the rule `ReviewTasks.visible`, for each role and state.
            let rows = try await ReviewTaskRecord.query(on: shiming.db).all()
            for (username, token) in [("teacher.route", teacher), ("teacher.elsewhere", elsewhere), ("reviewer.route", reviewer),
                                      ("supervisor.route", supervisor), ("admin.route", admin)] {
                let record = try #require(try await AccountRecord.query(on: shiming.db).filter(\.$username == username).first())
                let account = try AccountRow(record).account(cipher: shiming.app.shiming.cipher)
                for state in ["open", "done"] {
                    let listed = try await shiming.send(.GET, "/api/v1/review/tasks?state=\(state)", headers: shiming.bearer(token))
                    let expected = try rows.filter { try $0.state == state && ReviewTasks.visible(ReviewTaskStore.value($0), to: account) }.map { try $0.requireID() }
                    #expect(Set(try listed.json([TaskReply].self).map(\.id)) == Set(expected), "\(username) \(state)")
                }
            }
        }
    }

    @Test("claims are atomic: of two reviewers claiming the same task at once exactly one wins; an idle claim returns to the queue")
    func concurrentClaims() async throws {
        try await withShiming { shiming in
            let first = try await shiming.staff([.reviewer], username: "reviewer.one")
            let second = try await shiming.staff([.reviewer], username: "reviewer.two")
            var cases: [UUID] = []
            for index in 0..<4 {
                cases.append(try await shiming.pendingCase(phone: "1380013805\(index)", number: residentID(birth: "1990010\(index + 1)", sequence: "21\(index)")))
            }
            for caseID in cases {
                let task = try #require(try await shiming.task(for: caseID, staff: first))
                async let a = shiming.send(.POST, "/api/v1/review/tasks/\(task.id)/claim", headers: shiming.bearer(first))
                async let b = shiming.send(.POST, "/api/v1/review/tasks/\(task.id)/claim", headers: shiming.bearer(second))
                let answers = try await [a, b]
                #expect(answers.map(\.status.code).sorted() == [200, 409], "\(answers.map(\.text))")
                #expect(answers.contains { $0.apiError?.code == "task_claimed" })
            }
            // The loser cannot decide a task claimed by someone else; the winner can.
            let caseID = cases[0]
            let claimed = try #require(try await shiming.task(for: caseID, staff: first))
            let (winner, loser) = claimed.assigneeId == (try await shiming.me(first)) ? (first, second) : (second, first)
            let refused = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(claimed.id)/decision", token: loser, ["outcome": "approve"])
            #expect(refused.apiError?.code == "task_claimed")
            #expect(try await shiming.task(for: caseID, staff: winner)?.mine == true)

            // Untouched for longer than the idle timeout: back to the queue, and the other may claim it.
            shiming.clock.advance(by: 31 * 60)
            let swept = try await shiming.app.features.review.sweep()
            #expect(swept.released == 4)
            #expect(try await shiming.task(for: caseID, staff: loser)?.assigneeId == nil)
            let taken = try await shiming.send(.POST, "/api/v1/review/tasks/\(claimed.id)/claim", headers: shiming.bearer(loser))
            #expect(taken.status == .ok, "\(taken.text)")
            #expect(try await shiming.decide(caseID, staff: loser, "approve").state == "verified")
            let released = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "review_task.released").count()
            #expect(released == 4)
        }
    }

    @Test("overdue tasks are flagged and escalated once to the supervisors, who are told")
    func escalation() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.supervisor], username: "supervisor.due", phone: "13700137011")
            let caseID = try await shiming.pendingCase(phone: "13800138061", number: residentID(birth: "19880101", sequence: "311"))
            let service = shiming.app.features.review
            #expect(try await service.sweep() == .init())
            shiming.clock.advance(by: 73 * 3600)  // credit-bank: due after 72 hours
            #expect(try await service.sweep() == .init(escalated: 1))
            #expect(try await service.sweep() == .init(), "escalated once")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.filter { $0.template == "review_task_escalated" }.map(\.to) == ["13700137011"])
            // Three days on, the supervisor signs in again (staff tokens live 12 hours).
            let supervisor = try await shiming.signIn("supervisor.due")
            let listed = try await shiming.send(.GET, "/api/v1/review/tasks?scope=escalated", headers: shiming.bearer(supervisor))
            let tasks = try listed.json([TaskReply].self)
            #expect(tasks.map(\.caseId) == [caseID] && tasks.allSatisfy(\.escalated))
            let metrics = try await shiming.send(.GET, "/metrics").text
            #expect(metrics.contains(#"review_queue_length{program="credit-bank"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"review_queue_overdue{program="credit-bank"} 1"#))
            #expect(metrics.contains(#"review_oldest_task_age_seconds{program="credit-bank"} 262800"#))
            #expect(metrics.contains(#"review_queue_length{program="online-education"} 0"#))
            let bad = try await shiming.send(.GET, "/api/v1/review/tasks?scope=nobody", headers: shiming.bearer(supervisor))
            #expect(bad.apiError?.fields?["scope"] == "invalid_value")
        }
    }

    @Test("a reviewer who shares the applicant's phone, or is the guardian, is refused with a clear error, audited")
    func neutrality() async throws {
        try await withShiming { shiming in
            let sharing = try await shiming.staff([.reviewer], username: "reviewer.sharing", phone: "13800138071")
            let neutral = try await shiming.staff([.reviewer], username: "reviewer.neutral", phone: "13700137021", email: "neutral@example.cn")
            // The applicant gives the reviewer's number as the contact phone (a family phone).
            let caseID = try await shiming.pendingCase(phone: "13800138073", number: residentID(birth: "19860303", sequence: "331"),
                                                       contact: ["phone": "138 0013 8071"])
            let task = try #require(try await shiming.task(for: caseID, staff: sharing))
            let claim = try await shiming.send(.POST, "/api/v1/review/tasks/\(task.id)/claim", headers: shiming.bearer(sharing))
            #expect(claim.status == .forbidden && claim.apiError?.code == "conflict_of_interest")
            let decision = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: sharing, ["outcome": "approve"])
            #expect(decision.apiError?.code == "conflict_of_interest")
            #expect(decision.apiError?.message.contains("手机号") == true)
            let refusals = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "case.decision_refused").all()
            #expect(refusals.count == 2 && refusals.allSatisfy { $0.details.contains("shared_contact") })
            #expect(try await shiming.decide(caseID, staff: neutral, "approve").state == "verified")
            // The same e-mail address (in any case) is a shared contact too.
            let mailed = try await shiming.pendingCase(phone: "13800138074", number: residentID(birth: "19860404", sequence: "333"),
                                                       contact: ["email": "Neutral@Example.cn"])
            let mailedTask = try #require(try await shiming.task(for: mailed, staff: neutral))
            let byMail = try await shiming.send(.POST, "/api/v1/review/tasks/\(mailedTask.id)/claim", headers: shiming.bearer(neutral))
            #expect(byMail.apiError?.code == "conflict_of_interest")

            // P4: the only teacher of the class is the student's guardian → the supervisors decide.
            let admin = try await shiming.staff([.admin], username: "admin.neutral")
            let guardianTeacher = try await shiming.staff([.teacher], username: "teacher.parent", scope: ("育才中学", "高一", "5班"), phone: "13900139071")
            let number = residentID(birth: "20100505", sequence: "139")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n冯四,\(number),育才中学,高一,5班,2025\n", admin: admin)
            let child = try await shiming.studentCase(phone: "13800138072", name: "冯肆", number: number, school: ("育才中学", "高一", "5班"),
                                                      guardianPhone: "13900139071")
            #expect(child.state == "needs_review")
            #expect(try await shiming.task(for: child.id, staff: guardianTeacher) == nil)
            #expect(try await shiming.task(for: child.id, staff: admin)?.routing == "supervisors")
        }
    }

    @Test("revealing a masked value needs a purpose and is audited; contacts are recorded and shown with the person's other cases")
    func revealAndContacts() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.reveal")
            let number = residentID(birth: "19790909", sequence: "351")
            let caseID = try await shiming.pendingCase(phone: "13800138081", number: number)
            let noPurpose = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/reveal", token: reviewer, ["field": "identity.documentNumber"])
            #expect(noPurpose.status == .unprocessableEntity && noPurpose.apiError?.fields?["purpose"] == "required")
            let unknown = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/reveal", token: reviewer,
                                                       ["field": "password", "purpose": "核对证件照片"])
            #expect(unknown.apiError?.fields?["field"] == "invalid_value")
            let revealed = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/reveal", token: reviewer,
                                                        ["field": "identity.documentNumber", "purpose": "核对证件照片上的号码"])
            struct Revealed: Decodable { var field: String; var value: String }
            #expect(try revealed.json(Revealed.self).value == number)
            let events = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "case.revealed").all()
            // The purpose is in the audit event, sealed: not readable there, opened with the key.
            #expect(events.count == 1 && !events[0].details.contains("核对证件照片上的号码"))
            let details = try JSONDecoder().decode([String: String].self, from: Data(events[0].details.utf8))
            #expect(try shiming.app.shiming.cipher.open(try #require(details["purposeSealed"]), context: ReviewService.revealPurposeContext(caseID))
                == "核对证件照片上的号码")

            let contact = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/contacts", token: reviewer,
                                                       ["channel": "phone", "note": "已电话联系学生，确认照片为本人"])
            #expect(contact.status == .created, "\(contact.text)")
            let badContact = try await shiming.sendObject(.POST, "/api/v1/review/cases/\(caseID)/contacts", token: reviewer, ["channel": "pigeon", "note": ""])
            #expect(badContact.apiError?.fields == ["channel": "invalid_value", "note": "required"])

            // The reviewer returns it; the applicant resubmits: the view lists the contact and the earlier decision.
            _ = try await shiming.decide(caseID, staff: reviewer, "return", reasons: ["document_unreadable"])
            let token = try await shiming.signIn("13800138081")
            _ = try await shiming.createCase(token, ["program": "credit-bank",
                                                     "identity": ["name": "张伟", "documentType": "resident", "documentNumber": number]])
            let view = try await shiming.send(.GET, "/api/v1/review/cases/\(caseID)", headers: shiming.bearer(reviewer))
            struct View: Decodable {
                struct Contact: Decodable { var channel: String; var note: String }
                struct Related: Decodable { var id: UUID; var sameAccount: Bool }
                var contacts: [Contact]
                var related: [Related]
            }
            let seen = try view.json(View.self)
            #expect(seen.contacts.map(\.note) == ["已电话联系学生，确认照片为本人"])
            #expect(seen.related.count == 1 && seen.related[0].sameAccount)
            #expect(!view.text.contains(number), "the number stays masked in the view")
            let stored = try await CaseContactRecord.query(on: shiming.db).first()
            #expect(stored?.noteSealed.contains("电话") == false, "the note is sealed")
        }
    }

    @Test("four eyes: after a rejection, approving the same person needs a supervisor other than the one who rejected")
    func fourEyes() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.eyes")
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.eyes")
            let number = residentID(birth: "19750505", sequence: "371")
            let first = try await shiming.pendingCase(phone: "13800138091", number: number)
            let rejected = try await shiming.decide(first, staff: reviewer, "reject", reasons: ["suspected_fraud"], note: "照片疑似翻拍")
            #expect(rejected.state == "rejected")
            #expect(rejected.decision?.reasons.map(\.code) == ["suspected_fraud"])
            let token = try await shiming.signIn("13800138091")
            let again = try await shiming.createCase(token, ["program": "credit-bank",
                                                             "identity": ["name": "张伟", "documentType": "resident", "documentNumber": number]])
            try await shiming.addDocument(token, again.id, kind: "id_front")
            _ = try await shiming.submitCase(token, again.id)
            let task = try #require(try await shiming.task(for: again.id, staff: reviewer))
            let refused = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: reviewer, ["outcome": "approve"])
            #expect(refused.status == .forbidden && refused.apiError?.code == "four_eyes_required")
            // A return needs no second pair of eyes; an approval by the supervisor does.
            #expect(try await shiming.decide(again.id, staff: supervisor, "approve").state == "verified")
        }
    }

    @Test("round robin: each new task goes to the reviewer on duty whose last assignment is oldest; reviewers off duty get none")
    func roundRobin() async throws {
        try await withShiming { shiming in
            let early = try await shiming.staff([.reviewer], username: "reviewer.early", phone: "13700137031")
            let late = try await shiming.staff([.reviewer], username: "reviewer.late", phone: "13700137032")
            _ = try await shiming.staff([.reviewer], username: "reviewer.off", phone: "13700137033")
            for token in [early, late] {
                let duty = try await shiming.sendObject(.PUT, "/api/v1/review/duty", token: token, ["onDuty": true])
                #expect(duty.status == .ok, "\(duty.text)")
                shiming.clock.advance(by: 60)
            }
            var assignees: [UUID?] = []
            for index in 0..<3 {
                let caseID = try await shiming.pendingCase(phone: "1380013810\(index)", number: residentID(birth: "1950020\(index + 1)", sequence: "26\(index)"),
                                                           program: "senior-personal")
                assignees.append(try await shiming.task(for: caseID, staff: early)?.assigneeId)
                shiming.clock.advance(by: 60)
            }
            let (earlyID, lateID) = (try await shiming.me(early), try await shiming.me(late))
            #expect(assignees == [earlyID, lateID, earlyID])
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.filter { $0.template == "review_task_assigned" }.map(\.to) == ["13700137031", "13700137032", "13700137031"])
            let off = try await shiming.sendObject(.PUT, "/api/v1/review/duty", token: early, ["onDuty": false])
            #expect(off.status == .ok)
            let next = try await shiming.pendingCase(phone: "13800138109", number: residentID(birth: "19500301", sequence: "264"), program: "senior-personal")
            #expect(try await shiming.task(for: next, staff: late)?.assigneeId == lateID)
        }
    }

    @Test("the reason list comes from review-reasons.yaml when present; invalid files name file, line and field")
    func reasonList() async throws {
        let list = try ReviewReasonList.parse(yaml: """
            reasons:
              - {code: name_mismatch}
              - code: photo_expired
                text: {zh-CN: 证件已过期，请上传有效证件。, en: The document has expired; upload a valid one.}
            """, file: "review-reasons.yaml")
        #expect(list.codes == ["name_mismatch", "photo_expired"])
        #expect(list.text("name_mismatch") == ReviewReasonList.defaults.text("name_mismatch"))
        for (yaml, field, line) in [
            ("reasons:\n  - {code: blurry}", "reasons[0].text", 2),
            ("reasons:\n  - {code: name_mismatch}\n  - {code: name_mismatch}", "reasons[1].code", 3),
            ("reasons:\n  - {code: Bad-Code, text: x}", "reasons[0].code", 2),
            ("reason: []", "reason", 1),
        ] {
            #expect(throws: ProgramFileError.self) { try ReviewReasonList.parse(yaml: yaml, file: "r.yaml") }
            do { _ = try ReviewReasonList.parse(yaml: yaml, file: "r.yaml") } catch let error as ProgramFileError {
                #expect(error.field == field && error.line == line, "\(error)")
            }
        }

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-reasons-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "reasons:\n  - code: photo_expired\n    text: {zh-CN: 证件已过期，请上传有效证件。, en: The document has expired.}\n"
            .write(toFile: (directory as NSString).appendingPathComponent("review-reasons.yaml"), atomically: true, encoding: .utf8)
        try await withShiming(dataDirectory: directory) { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.reasons")
            let listed = try await shiming.send(.GET, "/api/v1/review/reasons", headers: shiming.bearer(reviewer))
            #expect(listed.text.contains("photo_expired") && !listed.text.contains("name_mismatch"))
            let caseID = try await shiming.pendingCase(phone: "13800138111", number: residentID(birth: "19820202", sequence: "391"))
            let task = try #require(try await shiming.task(for: caseID, staff: reviewer))
            let old = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: reviewer,
                                                   ["outcome": "return", "reasons": ["name_mismatch"]])
            #expect(old.apiError?.fields?["reasons"] == "invalid_value")
            let returned = try await shiming.decide(caseID, staff: reviewer, "return", reasons: ["photo_expired"])
            #expect(returned.decision?.reasons.first?.message == "证件已过期，请上传有效证件。")
        }
    }
}

extension TestShiming {
    /// A credit-bank (or other pool program) case waiting for review, by a new applicant.
    func pendingCase(phone: String, number: String, program: String = "credit-bank", contact: [String: String]? = nil) async throws -> UUID {
        let (_, token) = try await activeApplicant(phone: phone)
        var identity: [String: Any] = ["name": "张伟", "documentType": "resident", "documentNumber": number]
        var body: [String: Any] = ["program": program]
        if program == "senior-personal" {
            identity["gender"] = Int(String(number.dropLast().suffix(1)))! % 2 == 1 ? "male" : "female"
            identity["address"] = "北京市西城区某某街道 1 号"
        }
        body["identity"] = identity
        body["contact"] = contact
        let item = try await createCase(token, body)
        let kinds = program == "senior-personal" ? ["id_front", "id_back", "household_register"] : ["id_front"]
        for kind in kinds { try await addDocument(token, item.id, kind: kind) }
        let submitted = try #require(try await submitCase(token, item.id))
        #expect(submitted.state == "needs_review", "\(submitted.failed.map(\.code))")
        return item.id
    }

    /// An education-card case by a new applicant (16 or older: no guardian consent needed).
    func studentCase(phone: String, name: String, number: String, school: (String, String, String),
                     guardianPhone: String = "13900139999") async throws -> CaseReply {
        let (_, token) = try await activeApplicant(phone: phone)
        let item = try await createCase(token, [
            "program": "education-card",
            "identity": ["name": name, "documentType": "resident", "documentNumber": number],
            "school": ["school": school.0, "grade": school.1, "class": school.2, "enrolmentYear": 2025],
            "guardian": ["name": "家长", "phone": guardianPhone, "relation": "mother"],
        ])
        return try #require(try await submitCase(token, item.id))
    }

    /// The id of the account behind a token.
    func me(_ token: String) async throws -> UUID {
        struct Me: Decodable { var id: UUID }
        return try await send(.GET, "/api/v1/me", headers: bearer(token)).json(Me.self).id
    }
}
