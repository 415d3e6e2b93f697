import Fluent
import ShimingCore
import Foundation
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Exceptions: freezes, appeals, risk alerts, feedback and the reviewer figures")
struct ExceptionsTests {
    struct AccountReply: Decodable {
        var id: UUID
        var status: String
        var frozenReason: String?
    }

    struct AlertReply: Decodable {
        var id: UUID
        var kind: String
        var subject: String
        var state: String
        var count: Int
        var note: String?
        var details: [String: String]
    }

    struct FeedbackReply: Decodable {
        var id: UUID
        var state: String
        var tags: [String]
        var text: String
        var answer: String?
    }

    @Test("P5: a mismatch raises an alert; a freeze (reason, notice, 403 account_frozen) → appeal → not for a reviewer, nor the freezer; upheld by another supervisor")
    func freezeAppealReversal() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            let freezer = try await shiming.staff([.supervisor], username: "supervisor.freezer")
            let other = try await shiming.staff([.reviewer], username: "reviewer.other")
            let number = residentID(birth: "19880808", sequence: "415"), doubtful = residentID(birth: "19870707", sequence: "426")
            service.set(number, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
            service.set(doubtful, RegistryAnswer(verdict: .mismatch, matched: [.documentNumber], differed: [.name]))
            let (holderID, token) = try await shiming.activeApplicant(phone: "13800138201")
            let verified = try await shiming.shopCase(token, name: "陈晨", number: number)
            #expect(verified.state == "verified")

            // A mismatch with the identity service is a failed verification: an alert for the supervisors.
            let (_, token2) = try await shiming.activeApplicant(phone: "13800138202")
            let mismatch = try await shiming.shopCase(token2, name: "陈辰", number: doubtful)
            #expect(mismatch.state == "needs_review")
            let alerts = try await shiming.send(.GET, "/api/v1/admin/alerts", headers: shiming.bearer(freezer)).json([AlertReply].self)
            #expect(alerts.map(\.kind) == ["failed_verification"])
            #expect(alerts.first?.subject == "case:\(mismatch.id.uuidString.lowercased())")
            #expect(alerts.first?.details["code"] != nil)

            // Freeze: reason required; the holder is told; the verified case is frozen with the account.
            let noReason = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holderID)/freeze", token: freezer, [:])
            #expect(noReason.status == .unprocessableEntity && noReason.apiError?.fields?["reason"] == "required")
            let reviewerTry = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holderID)/freeze", token: other, ["reason": "x"])
            #expect(reviewerTry.status == .forbidden)
            let frozen = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holderID)/freeze", token: freezer, ["reason": "疑似冒用他人身份注册"])
            #expect(frozen.status == .ok, "\(frozen.text)")
            let twice = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holderID)/freeze", token: freezer, ["reason": "再次冻结"])
            #expect(twice.apiError?.code == "already_frozen")
            try await shiming.deliverOutbox()
            let notice = try #require(shiming.sink.messages.last { $0.template == "account_frozen" })
            #expect(notice.to == "13800138201" && notice.text.contains("疑似冒用他人身份注册") && notice.text.contains("申诉"))
            let stored = try #require(try await AccountRecord.find(holderID, on: shiming.db))
            #expect(stored.statusReason?.contains("冒用") == false, "the reason is sealed at rest")

            // The holder still signs in and reads the reason and the case; anything else is 403 account_frozen.
            let again = try await shiming.signIn("13800138201")
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(again)).json(AccountReply.self)
            #expect(me.status == "frozen" && me.frozenReason == "疑似冒用他人身份注册")
            #expect(try await shiming.getCase(again, verified.id).state == "frozen")
            let blocked = try await shiming.sendObject(.POST, "/api/v1/cases", token: again, ["program": "e-commerce"])
            #expect(blocked.status == .forbidden && blocked.apiError?.code == "account_frozen")
            #expect(blocked.apiError?.message.contains("疑似冒用他人身份注册") == true)

            // Appeal: a reason is required; one appeal only.
            let empty = try await shiming.sendObject(.POST, "/api/v1/cases/\(verified.id)/appeal", token: again, ["reason": ""])
            #expect(empty.apiError?.fields?["reason"] == "required")
            let appealed = try await shiming.sendObject(.POST, "/api/v1/cases/\(verified.id)/appeal", token: again,
                                                        ["reason": "这是我本人注册的账号，可以视频核实。"])
            #expect(appealed.status == .ok, "\(appealed.text)")
            #expect(try appealed.json(CaseReply.self).state == "appealed")
            let repeatAppeal = try await shiming.sendObject(.POST, "/api/v1/cases/\(verified.id)/appeal", token: again, ["reason": "再申诉一次看看"])
            #expect(repeatAppeal.status == .conflict)

            // The freezer may not decide the appeal, nor may a reviewer (a reviewer cannot undo a
            // supervisor's freeze); another supervisor sees the appeal's words and upholds it.
            let task = try #require(try await shiming.task(for: verified.id, staff: other))
            #expect(task.kind == "appeal")
            let refused = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: freezer, ["outcome": "approve"])
            #expect(refused.status == .forbidden && refused.apiError?.code == "conflict_of_interest")
            let byReviewer = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: other, ["outcome": "approve"])
            #expect(byReviewer.status == .forbidden && byReviewer.apiError?.code == "conflict_of_interest")
            #expect(try await shiming.send(.POST, "/api/v1/review/tasks/\(task.id)/claim", headers: shiming.bearer(other)).status == .forbidden)
            let deciding = try await shiming.staff([.supervisor], username: "supervisor.second")
            let view = try await shiming.send(.GET, "/api/v1/review/cases/\(verified.id)", headers: shiming.bearer(deciding))
            #expect(view.text.contains("这是我本人注册的账号") && view.text.contains("\"contests\":\"freeze\""))
            let returnRefused = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: deciding,
                                                             ["outcome": "return", "reasons": ["information_incomplete"]])
            #expect(returnRefused.apiError?.fields?["outcome"] == "invalid_value")
            let upheld = try await shiming.decide(verified.id, staff: deciding, "approve")
            #expect(upheld.state == "verified")
            #expect(upheld.history.last?.rule == "appeal.upheld")
            let after = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(again)).json(AccountReply.self)
            #expect(after.status == "active" && after.frozenReason == nil)
            #expect(try await shiming.sendObject(.POST, "/api/v1/cases", token: again, ["program": "e-commerce"]).status == .created)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "appeal_received" && $0.to == "13800138201" })
            #expect(shiming.sink.messages.contains { $0.template == "account_unfrozen" && $0.to == "13800138201" })
            let actions = try await AuditEventRecord.query(on: shiming.db).all().map(\.action)
            for action in ["account.frozen", "case.appealed", "case.decision_refused", "account.unfrozen", "risk_alert.raised"] {
                #expect(actions.contains(action), "\(action)")
            }

            // The overturned freeze counts against the freezer in the figures.
            let figures = try await shiming.send(.GET, "/api/v1/admin/metrics/reviewers", headers: shiming.bearer(freezer))
            #expect(figures.status == .ok, "\(figures.text)")
            let report = try figures.json(FiguresReply.self)
            let freezerID = try await shiming.me(freezer)
            #expect(report.reviewers.first { $0.id == freezerID.uuidString.lowercased() }?.overturned == 1)
            #expect(report.teams.first { $0.id == "e-commerce" }?.overturned == 1)
        }
    }

    @Test("an appeal against a rejection: not the rejector, and approving needs a supervisor (four eyes); a dismissed appeal is final")
    func rejectionAppeal() async throws {
        try await withShiming { shiming in
            let rejector = try await shiming.staff([.reviewer], username: "reviewer.rejector")
            let second = try await shiming.staff([.reviewer], username: "reviewer.second")
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.appeals")
            let first = try await shiming.pendingCase(phone: "13800138211", number: residentID(birth: "19800101", sequence: "431"))
            #expect(try await shiming.decide(first, staff: rejector, "reject", reasons: ["document_unreadable"]).state == "rejected")
            let token = try await shiming.signIn("13800138211")
            let appeal = try await shiming.sendObject(.POST, "/api/v1/cases/\(first)/appeal", token: token, ["reason": "照片是清楚的，请再看一次。"])
            #expect(appeal.status == .ok, "\(appeal.text)")
            let task = try #require(try await shiming.task(for: first, staff: second))
            let byRejector = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: rejector, ["outcome": "approve"])
            #expect(byRejector.apiError?.code == "conflict_of_interest")
            let bySecond = try await shiming.sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: second, ["outcome": "approve"])
            #expect(bySecond.apiError?.code == "four_eyes_required")
            #expect(try await shiming.decide(first, staff: supervisor, "approve").state == "verified")

            // Dismissed: rejected again, told so, and no second appeal.
            let other = try await shiming.pendingCase(phone: "13800138212", number: residentID(birth: "19800202", sequence: "442"))
            _ = try await shiming.decide(other, staff: rejector, "reject", reasons: ["suspected_fraud"])
            let token2 = try await shiming.signIn("13800138212")
            _ = try await shiming.sendObject(.POST, "/api/v1/cases/\(other)/appeal", token: token2, ["reason": "我没有造假，请复核。"])
            let dismissed = try await shiming.decide(other, staff: second, "reject", reasons: ["suspected_fraud"], note: "复核仍有疑点")
            #expect(dismissed.state == "rejected")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "appeal_dismissed" && $0.to == "13800138212" })
            let repeatAppeal = try await shiming.sendObject(.POST, "/api/v1/cases/\(other)/appeal", token: token2, ["reason": "再申诉一次"])
            #expect(repeatAppeal.apiError?.code == "already_appealed")
            let appeals = try await CaseAppealRecord.query(on: shiming.db).all()
            #expect(appeals.first { $0.caseID == first }?.outcome == "upheld" && appeals.first { $0.caseID == other }?.outcome == "dismissed")
            #expect(appeals.allSatisfy { $0.reasonSealed.contains("复核") == false && $0.reasonSealed.contains("照片") == false })
        }
    }

    @Test("unfreeze puts every case back where it was: a case in review returns to the queue, a waiting appeal is withdrawn")
    func unfreezeRestores() async throws {
        try await withShiming { shiming in
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.unfreeze")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.unfreeze")
            let pending = try await shiming.pendingCase(phone: "13800138221", number: residentID(birth: "19810303", sequence: "451"))
            let holder = try #require(try await CaseRecord.find(pending, on: shiming.db)).accountID
            #expect(try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holder)/unfreeze", token: supervisor, [:]).apiError?.code == "not_frozen")
            _ = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holder)/freeze", token: supervisor, ["reason": "核实中，暂时冻结"])
            #expect(try await shiming.task(for: pending, staff: reviewer) == nil, "the frozen case's task is cancelled")
            let token = try await shiming.signIn("13800138221")
            _ = try await shiming.sendObject(.POST, "/api/v1/cases/\(pending)/appeal", token: token, ["reason": "请尽快解冻，谢谢。"])
            #expect(try await shiming.task(for: pending, staff: reviewer)?.kind == "appeal")
            let lifted = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holder)/unfreeze", token: supervisor, ["note": "核实无误"])
            #expect(lifted.status == .ok, "\(lifted.text)")
            let restored = try await shiming.getCase(token, pending)
            #expect(restored.state == "needs_review")
            let task = try #require(try await shiming.task(for: pending, staff: reviewer))
            #expect(task.kind == "review")
            #expect(try await CaseAppealRecord.query(on: shiming.db).first()?.outcome == "withdrawn")
            let freeze = try #require(try await AccountFreezeRecord.query(on: shiming.db).first())
            #expect(freeze.liftedHow == "unfreeze" && freeze.priorStatus == "active")
            let note = try freeze.liftedNoteSealed.map { try shiming.app.shiming.cipher.open($0, context: AccountFreezeRecord.context(holder)) }
            #expect(note == "核实无误", "the note is kept, sealed")
            #expect(try await shiming.decide(pending, staff: reviewer, "approve").state == "verified")
        }
    }

    @Test("risk alerts: duplicates and frequency limits raise them (repeats count up), staff raise them; supervisors acknowledge and resolve")
    func riskAlerts() async throws {
        let service = FakeIdentityService()
        let number = residentID(birth: "19900909", sequence: "461")
        service.set(number, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
        try await withShiming(identityService: service) { shiming in
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.alerts")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.alerts")
            let (_, first) = try await shiming.activeApplicant(phone: "13800138231")
            #expect(try await shiming.shopCase(first, name: "林一", number: number).state == "verified")
            let (_, second) = try await shiming.activeApplicant(phone: "13800138232")
            let duplicate = try await shiming.shopCase(second, name: "林一", number: number)
            #expect(duplicate.state == "needs_review")

            // The shop allows 5 submissions a day: the 6th and 7th are refused with 429, one alert counting 2.
            let (limitedID, limited) = try await shiming.activeApplicant(phone: "13800138233")
            func newCase() async throws -> UUID {
                let item = try await shiming.createCase(limited, ["program": "e-commerce",
                                                                  "identity": ["name": "林二", "documentType": "resident", "documentNumber": "110105199009091234",
                                                                               "address": "杭州市西湖区某路 1 号"]])
                try await shiming.addDocument(limited, item.id, kind: "id_front")
                return item.id
            }
            for _ in 0..<5 { _ = try await shiming.submitCase(limited, try await newCase(), expect: .ok) }
            let sixth = try await newCase()
            for _ in 0..<2 { _ = try await shiming.submitCase(limited, sixth, expect: .tooManyRequests) }

            let listed = try await shiming.send(.GET, "/api/v1/admin/alerts", headers: shiming.bearer(supervisor)).json([AlertReply].self)
            #expect(Set(listed.map(\.kind)) == ["duplicate_identity", "rate_limited"])
            let rate = try #require(listed.first { $0.kind == "rate_limited" })
            #expect(rate.count == 2 && rate.subject == "account:\(limitedID.uuidString.lowercased())")
            #expect(try await shiming.send(.GET, "/api/v1/admin/alerts", headers: shiming.bearer(reviewer)).status == .forbidden)

            // A reviewer raises one about the duplicate's case, with a note (sealed at rest).
            let raised = try await shiming.sendObject(.POST, "/api/v1/admin/alerts", token: reviewer,
                                                      ["caseId": duplicate.id.uuidString, "note": "同一证件号两个账号，疑似盗用"])
            #expect(raised.status == .created, "\(raised.text)")
            let staffAlert = try raised.json(AlertReply.self)
            #expect(staffAlert.kind == "staff" && staffAlert.note == "同一证件号两个账号，疑似盗用")
            #expect(try await RiskAlertRecord.find(staffAlert.id, on: shiming.db)?.noteSealed?.contains("盗用") == false)
            let unknown = try await shiming.sendObject(.POST, "/api/v1/admin/alerts", token: reviewer, ["caseId": UUID().uuidString, "note": "不存在的申请"])
            #expect(unknown.apiError?.fields?["caseId"] == "not_found")

            // Acknowledge, then resolve with a note; a resolved alert leaves the default list.
            let ack = try await shiming.sendObject(.POST, "/api/v1/admin/alerts/\(rate.id)/acknowledge", token: supervisor, [:])
            #expect(try ack.json(AlertReply.self).state == "acknowledged")
            #expect(try await shiming.sendObject(.POST, "/api/v1/admin/alerts/\(rate.id)/acknowledge", token: supervisor, [:]).status == .conflict)
            #expect(try await shiming.sendObject(.POST, "/api/v1/admin/alerts/\(rate.id)/resolve", token: supervisor, [:]).apiError?.fields?["note"] == "required")
            let resolved = try await shiming.sendObject(.POST, "/api/v1/admin/alerts/\(rate.id)/resolve", token: supervisor, ["note": "用户重复点击，已联系说明"])
            #expect(try resolved.json(AlertReply.self).state == "resolved")
            let active = try await shiming.send(.GET, "/api/v1/admin/alerts", headers: shiming.bearer(supervisor)).json([AlertReply].self)
            #expect(!active.contains { $0.id == rate.id } && active.count == 2)
            let all = try await shiming.send(.GET, "/api/v1/admin/alerts?state=all", headers: shiming.bearer(supervisor)).json([AlertReply].self)
            #expect(all.count == 3)
            #expect(try await shiming.send(.GET, "/api/v1/admin/alerts?state=bogus", headers: shiming.bearer(supervisor)).status == .unprocessableEntity)
        }
    }

    @Test("feedback: sent from any page (a frozen holder too), read and tagged by staff, answered through the outbox")
    func feedback() async throws {
        try await withShiming { shiming in
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.feedback")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.feedback")
            let caseID = try await shiming.pendingCase(phone: "13800138241", number: residentID(birth: "19770707", sequence: "471"))
            let token = try await shiming.signIn("13800138241")
            let (_, stranger) = try await shiming.activeApplicant(phone: "13800138242")
            let foreign = try await shiming.sendObject(.POST, "/api/v1/feedback", token: stranger, ["text": "看看别人的申请", "caseId": caseID.uuidString])
            #expect(foreign.apiError?.fields?["caseId"] == "not_found")
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": " "]).apiError?.fields?["text"] == "required")
            let sent = try await shiming.sendObject(.POST, "/api/v1/feedback", token: token,
                                                    ["text": "上传照片时页面很慢，字也太小了。", "caseId": caseID.uuidString, "page": "/cases/new"])
            #expect(sent.status == .created, "\(sent.text)")
            let item = try sent.json(FeedbackReply.self)
            #expect(try await FeedbackRecord.find(item.id, on: shiming.db)?.textSealed.contains("照片") == false)

            let inbox = try await shiming.send(.GET, "/api/v1/admin/feedback?state=new", headers: shiming.bearer(reviewer)).json([FeedbackReply].self)
            #expect(inbox.map(\.id) == [item.id])
            let tagged = try await shiming.sendObject(.PATCH, "/api/v1/admin/feedback/\(item.id)", token: reviewer, ["tags": ["速度", "font-size"], "read": true])
            let taggedReply = try tagged.json(FeedbackReply.self)
            #expect(taggedReply.state == "read" && taggedReply.tags == ["速度", "font-size"])
            #expect(try await shiming.sendObject(.PATCH, "/api/v1/admin/feedback/\(item.id)", token: reviewer, ["tags": ["bad tag!"]]).status == .unprocessableEntity)
            let byTag = try await shiming.send(.GET, "/api/v1/admin/feedback?tag=速度".addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!,
                                               headers: shiming.bearer(supervisor)).json([FeedbackReply].self)
            #expect(byTag.count == 1)
            let answered = try await shiming.sendObject(.POST, "/api/v1/admin/feedback/\(item.id)/answer", token: supervisor, ["text": "已优化上传速度，页面可放大字体。"])
            #expect(try answered.json(FeedbackReply.self).state == "answered")
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.contains { $0.template == "feedback_answered" && $0.to == "13800138241" && $0.text.contains("已优化上传速度") })
            let mine = try await shiming.send(.GET, "/api/v1/feedback", headers: shiming.bearer(token)).json([FeedbackReply].self)
            #expect(mine.first?.answer == "已优化上传速度，页面可放大字体。")
            #expect(try await shiming.send(.GET, "/api/v1/admin/feedback", headers: shiming.bearer(token)).status == .forbidden)

            // A frozen holder can still write.
            let holder = try #require(try await CaseRecord.find(caseID, on: shiming.db)).accountID
            _ = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(holder)/freeze", token: supervisor, ["reason": "核实中"])
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "为什么冻结我的账号？"]).status == .created)
        }
    }

    @Test("the reviewer figures on a fixed data set match hand-computed values")
    func figures() async throws {
        // The rules on their own.
        #expect(ReviewFigures.median([1, 2, 3, 4]) == 2.5 && ReviewFigures.median([5]) == 5 && ReviewFigures.median([]) == nil)
        #expect(ReviewFigures.percentile(0.9, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 9)
        #expect(ReviewFigures.percentile(0.9, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) == 10)

        try await withShiming { shiming in
            let supervisor = try await shiming.staff([.supervisor], username: "supervisor.figures")
            let alice = try await shiming.staff([.reviewer], username: "reviewer.alice")
            let bob = try await shiming.staff([.reviewer], username: "reviewer.bob")
            let (aliceID, bobID) = (try await shiming.me(alice), try await shiming.me(bob))
            let caseID = try await shiming.pendingCase(phone: "13800138251", number: residentID(birth: "19760606", sequence: "481"))
            let start = try #require(RFC3339.date(from: "2026-10-01T00:00:00Z"))
            // (reviewer, program, outcome, opened at +minutes, minutes to decide, due after hours)
            let rows: [(UUID, String, String, Double, Double, Double)] = [
                (aliceID, "credit-bank", "approve", 0, 10, 72), (aliceID, "credit-bank", "reject", 60, 20, 72),
                (aliceID, "credit-bank", "return", 120, 30, 72), (aliceID, "senior-personal", "return", 180, 40, 0.5),
                (bobID, "credit-bank", "approve", 0, 5, 72), (bobID, "credit-bank", "approve", 30, 60, 0.5),
                (bobID, "senior-personal", "reject", 60, 15, 72),
                // Outside the period (decided in September): not counted.
                (bobID, "credit-bank", "reject", -3 * 24 * 60, 10, 72),
            ]
            for (reviewer, program, outcome, opened, minutes, dueHours) in rows {
                let task = ReviewTaskRecord()
                task.id = UUID()
                task.caseID = caseID
                task.program = program
                task.kind = "review"
                task.state = "done"
                task.routing = "pool"
                task.reason = "test"
                task.createdAt = start.addingTimeInterval(opened * 60)
                task.dueAt = task.createdAt.addingTimeInterval(dueHours * 3600)
                task.closedAt = task.createdAt.addingTimeInterval(minutes * 60)
                task.decidedBy = reviewer
                task.assigneeID = reviewer
                task.outcome = outcome
                try await task.create(on: shiming.db)
            }
            let appeal = CaseAppealRecord()
            appeal.id = UUID()
            appeal.caseID = caseID
            appeal.accountID = aliceID
            appeal.contests = "rejection"
            appeal.contestedBy = aliceID
            appeal.reasonSealed = "sealed"
            appeal.taskID = UUID()
            appeal.createdAt = start.addingTimeInterval(86_400)
            appeal.outcome = "upheld"
            appeal.decidedBy = bobID
            appeal.decidedAt = start.addingTimeInterval(2 * 86_400)
            try await appeal.create(on: shiming.db)

            let response = try await shiming.send(.GET, "/api/v1/admin/metrics/reviewers?from=2026-10-01&to=2026-10-31", headers: shiming.bearer(supervisor))
            #expect(response.status == .ok, "\(response.text)")
            let report = try response.json(FiguresReply.self)
            let a = try #require(report.reviewers.first { $0.id == aliceID.uuidString.lowercased() })
            // Alice: 10, 20, 30, 40 min → median 25 min, p90 = 4th of 4 = 40 min; one decided after its due time.
            #expect(a.decided == 4 && a.approved == 1 && a.rejected == 1 && a.returned == 2)
            #expect(a.medianSeconds == 1500 && a.p90Seconds == 2400 && a.overdue == 1 && a.overturned == 1)
            #expect(a.returnedShare == 0.5 && a.rejectedShare == 0.25)
            #expect(a.name == "reviewer.alice")
            // Bob: 5, 15, 60 min → median 15 min, p90 = 3rd of 3 = 60 min; the September task is not counted.
            let b = try #require(report.reviewers.first { $0.id == bobID.uuidString.lowercased() })
            #expect(b.decided == 3 && b.medianSeconds == 900 && b.p90Seconds == 3600 && b.overdue == 1 && b.overturned == 0)
            #expect(b.rejectedShare.map { abs($0 - 1.0 / 3.0) < 1e-9 } == true && b.returnedShare == 0)
            // Credit bank team: 5, 10, 20, 30, 60 min → median 20 min, p90 = 5th of 5 = 60 min; the appeal was on a credit-bank case.
            let team = try #require(report.teams.first { $0.id == "credit-bank" })
            #expect(team.decided == 5 && team.medianSeconds == 1200 && team.p90Seconds == 3600 && team.overdue == 1 && team.overturned == 1)
            let senior = try #require(report.teams.first { $0.id == "senior-personal" })
            #expect(senior.decided == 2 && senior.medianSeconds == 1650 && senior.p90Seconds == 2400 && senior.overdue == 1)

            let bad = try await shiming.send(.GET, "/api/v1/admin/metrics/reviewers?from=2026-13-01", headers: shiming.bearer(supervisor))
            #expect(bad.status == .unprocessableEntity && bad.apiError?.fields?["from"] == "invalid_format")
            let reversed = try await shiming.send(.GET, "/api/v1/admin/metrics/reviewers?from=2026-10-31&to=2026-10-01", headers: shiming.bearer(supervisor))
            #expect(reversed.apiError?.fields?["from"] == "invalid_value")
            #expect(try await shiming.send(.GET, "/api/v1/admin/metrics/reviewers", headers: shiming.bearer(alice)).status == .forbidden)
        }
    }
}

/// The figures as the API answers them (the rows decode into the server's own type).
struct FiguresReply: Decodable {
    var reviewers: [ReviewFigures.Row]
    var teams: [ReviewFigures.Row]
}

extension TestShiming {
    /// An e-commerce (P5) case submitted with an ID photo; the identity service answers as set.
    func shopCase(_ token: String, name: String, number: String) async throws -> CaseReply {
        let item = try await createCase(token, ["program": "e-commerce",
                                                "identity": ["name": name, "documentType": "resident", "documentNumber": number,
                                                             "address": "上海市黄浦区某路 8 号"]])
        try await addDocument(token, item.id, kind: "id_front")
        return try #require(try await submitCase(token, item.id))
    }
}
