import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Back-office pages: queue, case, decision, freeze and appeal, alerts, feedback, figures")
struct ReviewPagesTests {
    @Test("a reviewer claims on the queue page, sees the case side by side, reveals with a purpose and decides with reasons")
    func reviewOnPages() async throws {
        #expect(Set(ReviewService.revealOrder) == Set(ReviewService.revealable.keys), "every revealable field is offered, once")
        try await withShiming { shiming in
            let number = residentID(birth: "19850505", sequence: "513")
            let caseID = try await shiming.pendingCase(phone: "13800138301", number: number)
            _ = try await shiming.staff([.reviewer], username: "reviewer.pages")
            let (reviewer, csrf) = try await shiming.webSession("reviewer.pages")
            let desk = try await shiming.send(.GET, "/staff", headers: reviewer)
            #expect(desk.text.contains(#"href="/staff/review""#))
            let queue = try await shiming.send(.GET, "/staff/review", headers: reviewer)
            #expect(queue.status == .ok && queue.text.contains("/staff/review/cases/\(caseID.uuidString.lowercased())"))
            let task = try #require(try await ReviewTaskRecord.query(on: shiming.db).filter(\.$caseID == caseID).first())
            let taskID = try task.requireID().uuidString.lowercased()
            let claimed = try await shiming.postForm("/staff/review/tasks/\(taskID)/claim", ["_csrf": csrf], headers: reviewer)
            #expect(claimed.status == .seeOther && claimed.headers.first(name: .location) == "/staff/review/cases/\(caseID.uuidString.lowercased())")

            let page = try await shiming.send(.GET, "/staff/review/cases/\(caseID.uuidString.lowercased())", headers: reviewer)
            #expect(page.status == .ok)
            #expect(!page.text.contains(number), "the number is masked")
            for part in [#"class="side-by-side""#, "<img src=\"/staff/review/cases/", #"id="checks""#, #"id="decision""#, #"name="reasons[]""#,
                         #"id="reveal""#, #"id="contacts""#] {
                #expect(page.text.contains(part), "\(part)")
            }
            let image = try #require(page.text.range(of: #"/staff/review/cases/[0-9a-f-]+/documents/[0-9a-f-]+"#, options: .regularExpression))
            let picture = try await shiming.send(.GET, String(page.text[image]), headers: reviewer)
            #expect(picture.status == .ok && picture.headers.contentType?.type == "image")

            let noPurpose = try await shiming.postForm("/staff/review/cases/\(caseID)/reveal", ["_csrf": csrf, "field": "identity.documentNumber"], headers: reviewer)
            #expect(noPurpose.status == .unprocessableEntity && !noPurpose.text.contains(number))
            let revealed = try await shiming.postForm("/staff/review/cases/\(caseID)/reveal",
                                                      ["_csrf": csrf, "field": "identity.documentNumber", "purpose": "与证件照片核对号码"], headers: reviewer)
            #expect(revealed.status == .ok && revealed.text.contains(number))

            let contact = try await shiming.postForm("/staff/review/cases/\(caseID)/contacts",
                                                     ["_csrf": csrf, "channel": "phone", "contactNote": "电话确认照片为本人上传"], headers: reviewer)
            #expect(contact.status == .seeOther)
            #expect(try await shiming.send(.GET, "/staff/review/cases/\(caseID)", headers: reviewer).text.contains("电话确认照片为本人上传"))

            let alerted = try await shiming.postForm("/staff/review/cases/\(caseID)/alert", ["_csrf": csrf, "alertNote": "照片背景与其他申请相同"], headers: reviewer)
            #expect(alerted.status == .seeOther)
            #expect(try await RiskAlertRecord.query(on: shiming.db).filter(\.$kind == "staff").count() == 1)

            let missing = try await shiming.postForm("/staff/review/tasks/\(taskID)/decision", ["_csrf": csrf, "outcome": "reject"], headers: reviewer)
            #expect(missing.status == .unprocessableEntity && missing.text.contains("field-error"))
            let noOutcome = try await shiming.postForm("/staff/review/tasks/\(taskID)/decision", ["_csrf": csrf, "reasons[]": "document_unreadable"], headers: reviewer)
            #expect(noOutcome.status == .unprocessableEntity && noOutcome.text.contains("id=\"outcome-error\""), "a missing outcome is marked at the choices")
            #expect(noOutcome.text.contains("name=\"fields[document_unreadable]\""), "each reason can name the item it is about")
            let decided = try await shiming.postForm("/staff/review/tasks/\(taskID)/decision",
                                                     ["_csrf": csrf, "outcome": "reject", "reasons[]": "document_unreadable", "note": "照片模糊"], headers: reviewer)
            #expect(decided.status == .seeOther && decided.headers.first(name: .location) == "/staff/review?done=1")
            #expect(try await CaseRecord.find(caseID, on: shiming.db)?.state == "rejected")

            // The applicant sees the reason and the appeal form, and appeals on the page.
            let (applicant, applicantCSRF) = try await shiming.webSession("13800138301")
            let status = try await shiming.send(.GET, "/cases/\(caseID)", headers: applicant)
            #expect(status.text.contains(#"id="appeal""#) && status.text.contains("document_unreadable"))
            let empty = try await shiming.postForm("/cases/\(caseID)/appeal", ["_csrf": applicantCSRF, "reason": ""], headers: applicant)
            #expect(empty.status == .unprocessableEntity && empty.text.contains("field-error"))
            let appealed = try await shiming.postForm("/cases/\(caseID)/appeal", ["_csrf": applicantCSRF, "reason": "我重新拍了清楚的照片"], headers: applicant)
            #expect(appealed.status == .seeOther)
            let after = try await shiming.send(.GET, "/cases/\(caseID)", headers: applicant)
            #expect(after.text.contains(#"data-state="appealed""#) && !after.text.contains(#"id="appeal""#))
        }
    }

    @Test("a supervisor freezes on the account page; the holder sees the reason and can still appeal and write feedback; staff answer it")
    func freezeAndFeedbackPages() async throws {
        try await withShiming { shiming in
            let caseID = try await shiming.pendingCase(phone: "13800138311", number: residentID(birth: "19860606", sequence: "524"))
            _ = try await shiming.staff([.supervisor], username: "supervisor.pages")
            let (supervisor, csrf) = try await shiming.webSession("supervisor.pages")
            let holder = try #require(try await CaseRecord.find(caseID, on: shiming.db)).accountID
            let lookup = try await shiming.send(.GET, "/staff/accounts?login=13800138311", headers: supervisor)
            #expect(lookup.text.contains(#"id="freeze""#))
            let frozen = try await shiming.postForm("/staff/accounts/\(holder)/freeze", ["_csrf": csrf, "reason": "多个账号使用同一证件"], headers: supervisor)
            #expect(frozen.status == .ok && frozen.text.contains(#"data-status="frozen""#) && frozen.text.contains("/unfreeze"))

            let (applicant, applicantCSRF) = try await shiming.webSession("13800138311")
            let account = try await shiming.send(.GET, "/account", headers: applicant)
            #expect(account.status == .ok && account.text.contains(#"id="frozen""#) && account.text.contains("多个账号使用同一证件"))
            #expect(try await shiming.send(.GET, "/cases/\(caseID)", headers: applicant).text.contains(#"id="appeal""#))
            #expect(try await shiming.send(.GET, "/account/profile", headers: applicant).status == .forbidden)
            let feedbackForm = try await shiming.send(.GET, "/feedback?page=/account", headers: applicant)
            #expect(feedbackForm.status == .ok && feedbackForm.text.contains(#"name="page" value="/account""#))
            let sent = try await shiming.postForm("/feedback", ["_csrf": applicantCSRF, "text": "我只有一个账号，请核实", "page": "/account"], headers: applicant)
            #expect(sent.status == .seeOther && sent.headers.first(name: .location) == "/feedback?sent=1")

            let inbox = try await shiming.send(.GET, "/staff/feedback", headers: supervisor)
            #expect(inbox.text.contains("我只有一个账号，请核实"))
            let item = try #require(try await FeedbackRecord.query(on: shiming.db).first())
            let id = try item.requireID().uuidString.lowercased()
            #expect(try await shiming.postForm("/staff/feedback/\(id)", ["_csrf": csrf, "tags": "冻结, appeal"], headers: supervisor).status == .seeOther)
            #expect(try await shiming.postForm("/staff/feedback/\(id)/answer", ["_csrf": csrf, "answer-\(id)": "已转交复核"], headers: supervisor).status == .seeOther)
            let mine = try await shiming.send(.GET, "/feedback", headers: applicant)
            #expect(mine.text.contains("已转交复核"))
            #expect(try await FeedbackRecord.find(item.id, on: shiming.db)?.tags == "冻结,appeal")

            let alerts = try await shiming.send(.GET, "/staff/alerts", headers: supervisor)
            #expect(alerts.status == .ok)
            let unfrozen = try await shiming.postForm("/staff/accounts/\(holder)/unfreeze", ["_csrf": csrf], headers: supervisor)
            #expect(unfrozen.status == .ok && unfrozen.text.contains(#"data-status="active""#))
        }
    }

    @Test("the figures page draws the charts as inline SVG and refuses a bad date with a message")
    func figuresPage() async throws {
        try await withShiming { shiming in
            let caseID = try await shiming.pendingCase(phone: "13800138321", number: residentID(birth: "19870707", sequence: "535"))
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.chart")
            _ = try await shiming.decide(caseID, staff: reviewer, "approve")
            _ = try await shiming.staff([.supervisor], username: "supervisor.chart")
            let (supervisor, _) = try await shiming.webSession("supervisor.chart")
            let page = try await shiming.send(.GET, "/staff/figures", headers: supervisor)
            #expect(page.status == .ok && page.text.contains("<svg") && page.text.contains("reviewer.chart"))
            let bad = try await shiming.send(.GET, "/staff/figures?from=2026-02-30", headers: supervisor)
            #expect(bad.status == .unprocessableEntity && bad.text.contains("notice error"))
            let (reviewerPage, _) = try await shiming.webSession("reviewer.chart")
            #expect(try await shiming.send(.GET, "/staff/figures", headers: reviewerPage).status == .forbidden)
        }
    }
}
