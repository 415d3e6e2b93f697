import Fluent
import Foundation
import Plot
import ShimingCore
import Vapor

/// `/staff/review`: the queue and the case page of the back office, on `ReviewService` (the
/// same rules as `/api/v1/review`).
struct WebReviewController {
    let features: Features

    var staffPages: WebStaffController { WebStaffController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        let review = routes.grouped("staff", "review")
        let access = Access.staff(AccessPolicy.reviewCases)
        review.page(.GET, access: access, use: queue)
        review.page(.POST, "duty", access: .staff([.reviewer]), use: duty)
        review.page(.POST, "tasks", ":id", "claim", access: access, use: claim)
        review.page(.POST, "tasks", ":id", "release", access: access, use: release)
        review.page(.POST, "tasks", ":id", "decision", access: access, use: decide)
        review.page(.GET, "cases", ":id", access: access, use: reviewCase)
        review.page(.GET, "cases", ":id", "documents", ":file", access: access, use: document)
        review.page(.POST, "cases", ":id", "reveal", access: access, use: reveal)
        review.page(.POST, "cases", ":id", "contacts", access: access, use: contact)
        review.page(.POST, "cases", ":id", "alert", access: access, use: raiseAlert)
    }

    func programTitles(_ req: Request) -> [String: String] {
        Dictionary(req.shiming.programs.programs.map { ($0.key, $0.title(req.lang)) }, uniquingKeysWith: { a, _ in a })
    }

    @Sendable func queue(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let scope = ReviewText.scopes.map(\.0).contains(req.query[String.self, at: "scope"] ?? "") ? req.query[String.self, at: "scope"]! : "all"
        return try await queuePage(req, staff: staff.account, scope: scope,
                                   notice: req.query[String.self, at: "done"] == "1" ? ReviewText.decided(req.lang) : nil)
    }

    func queuePage(_ req: Request, staff: Account, scope: String, notice: String?, noticeKind: String = "ok",
                   status: HTTPResponseStatus = .ok) async throws -> Response {
        let tasks = try await features.review.visibleTasks(staff: staff, state: .open, scope: scope)
        var onDuty: Bool?
        if staff.roles.contains(.reviewer) { onDuty = try await features.review.isOnDuty(staff) }
        let model = ReviewPages.QueueModel(lang: req.lang, csrf: PageCSRF.token(for: req).0, scope: scope, tasks: tasks,
                                           programs: programTitles(req), onDuty: onDuty, notice: notice, noticeKind: noticeKind)
        return staffPages.html(ReviewPages.queue(model).render(), status: status)
    }

    @Sendable func duty(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let onDuty = (try? req.content.get(String.self, at: "onDuty")) == "true"
        _ = try await features.review.setDuty(onDuty, staff: staff.account, ip: req.clientIP)
        return req.redirect(to: "/staff/review", redirectType: .normal)
    }

    @Sendable func claim(_ req: Request) async throws -> Response {
        let staff = try req.caller
        return try await PageAction.run {
            let task = try await features.review.claim(try req.uuidParameter(), staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/review/cases/\(ReviewPages.lower(task.caseID))", redirectType: .normal)
        } refused: { error in
            return try await queuePage(req, staff: staff.account, scope: "all", notice: error.message(req.lang), noticeKind: "error",
                                       status: error.kind.status)
        }
    }

    @Sendable func release(_ req: Request) async throws -> Response {
        let staff = try req.caller
        return try await PageAction.run {
            _ = try await features.review.release(try req.uuidParameter(), staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/review", redirectType: .normal)
        } refused: { error in
            return try await queuePage(req, staff: staff.account, scope: "all", notice: error.message(req.lang), noticeKind: "error",
                                       status: error.kind.status)
        }
    }

    func casePage(_ req: Request, staff: Account, caseID: UUID, status: HTTPResponseStatus = .ok,
                  configure: (inout ReviewPages.CaseModel) -> Void = { _ in }) async throws -> Response {
        let view = try await features.review.caseView(caseID, staff: staff, ip: req.clientIP, lang: req.lang)
        var model = ReviewPages.CaseModel(lang: req.lang, csrf: PageCSRF.token(for: req).0, view: view,
                                          programTitle: programTitles(req)[view.case.program] ?? view.case.program,
                                          reasons: req.shiming.reviewReasons.reasons, staffID: staff.id)
        model.programTitles = programTitles(req)
        model.canReadAccounts = !staff.roles.isDisjoint(with: AccessPolicy.readAccounts)
        model.fieldNames = req.shiming.programs[view.case.program]?.fieldNames ?? []
        configure(&model)
        return staffPages.html(ReviewPages.reviewCase(model).render(), status: status)
    }

    @Sendable func reviewCase(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let alerted = req.query[String.self, at: "alerted"] == "1"
        return try await casePage(req, staff: staff.account, caseID: try req.uuidParameter()) {
            if alerted { $0.notice = ReviewText.alerted(req.lang) }
        }
    }

    @Sendable func raiseAlert(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let caseID = try req.uuidParameter()
        let note = try? req.content.get(String.self, at: "alertNote")
        return try await PageAction.run {
            _ = try await features.alerts.raise(caseID: caseID, accountID: nil, note: note, staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/review/cases/\(ReviewPages.lower(caseID))?alerted=1", redirectType: .normal)
        } refused: { error in
            return try await casePage(req, staff: staff.account, caseID: caseID, status: error.kind.status) {
                $0.errors = error.fields["note"].map { ["alertNote": $0] } ?? error.fields
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
                $0.values["alertNote"] = note ?? ""
            }
        }
    }

    @Sendable func document(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let (file, data) = try await features.review.document(
            try req.uuidParameter("file"), caseID: try req.uuidParameter(), staff: staff.account, ip: req.clientIP)
        return file.response(data)
    }

    struct RevealForm: Content {
        var field: String?
        var purpose: String?
    }

    @Sendable func reveal(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let caseID = try req.uuidParameter()
        let form = try req.content.decode(RevealForm.self)
        return try await PageAction.run {
            let value = try await features.review.reveal(caseID: caseID, field: form.field, purpose: form.purpose,
                                                         staff: staff.account, ip: req.clientIP)
            return try await casePage(req, staff: staff.account, caseID: caseID) { $0.revealed = (form.field ?? "", value) }
        } refused: { error in
            return try await casePage(req, staff: staff.account, caseID: caseID, status: error.kind.status) {
                $0.errors = error.fields
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
                $0.values["purpose"] = form.purpose ?? ""
            }
        }
    }

    struct ContactForm: Content {
        var channel: String?
        var contactNote: String?
    }

    @Sendable func contact(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let caseID = try req.uuidParameter()
        let form = try req.content.decode(ContactForm.self)
        return try await PageAction.run {
            _ = try await features.review.recordContact(caseID: caseID, channel: form.channel, note: form.contactNote,
                                                        staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/review/cases/\(ReviewPages.lower(caseID))#contacts", redirectType: .normal)
        } refused: { error in
            return try await casePage(req, staff: staff.account, caseID: caseID, status: error.kind.status) {
                $0.errors = error.fields["note"].map { ["contactNote": $0] } ?? error.fields
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
                $0.values["contactNote"] = form.contactNote ?? ""
            }
        }
    }

    struct DecisionForm: Content {
        var outcome: String?
        var reasons: [String]?
        var note: String?
        var fields: [String: String]?
        var message: String?
    }

    @Sendable func decide(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let taskID = try req.uuidParameter()
        let form = try req.content.decode(DecisionForm.self)
        let service = features.review
        return try await PageAction.run {
            _ = try await service.decide(taskID, staff: staff.account, .init(outcome: form.outcome ?? "", reasons: form.reasons, note: form.note,
                                                                                        fields: form.fields, message: form.message),
                                         ip: req.clientIP)
            return req.redirect(to: "/staff/review?done=1", redirectType: .normal)
        } refused: { error in
            let task = try await service.visibleTask(taskID, staff: staff.account)
            return try await casePage(req, staff: staff.account, caseID: task.caseID, status: error.kind.status) {
                $0.errors = error.fields
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
                $0.values["outcome"] = form.outcome ?? ""
                $0.values["note"] = form.note ?? ""
                $0.values["message"] = form.message ?? ""
                for (code, field) in form.fields ?? [:] { $0.values["fields.\(code)"] = field }
                $0.chosenReasons = Set(form.reasons ?? [])
            }
        }
    }
}
