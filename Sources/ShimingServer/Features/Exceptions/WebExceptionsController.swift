import Fluent
import Foundation
import Plot
import ShimingCore
import Vapor

/// The pages for risk alerts, feedback, reviewer figures, freezing accounts and appeals, on the
/// same services as the API.
struct WebExceptionsController {
    let features: Features

    var staffPages: WebStaffController { WebStaffController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        let staff = routes.grouped("staff")
        staff.page(.GET, "alerts", access: .staff(AccessPolicy.readAlerts), use: alerts)
        staff.page(.POST, "alerts", ":id", "acknowledge", access: .staff(AccessPolicy.handleAlerts), use: acknowledge)
        staff.page(.POST, "alerts", ":id", "resolve", access: .staff(AccessPolicy.handleAlerts), use: resolve)
        staff.page(.GET, "feedback", access: .staff(AccessPolicy.handleFeedback), use: staffFeedback)
        staff.page(.POST, "feedback", ":id", access: .staff(AccessPolicy.handleFeedback), use: tagFeedback)
        staff.page(.POST, "feedback", ":id", "answer", access: .staff(AccessPolicy.handleFeedback), use: answerFeedback)
        staff.page(.GET, "figures", access: .staff(AccessPolicy.readFigures), use: figures)
        staff.page(.POST, "accounts", ":id", "freeze", access: .staff(AccessPolicy.supervise), use: freeze)
        staff.page(.POST, "accounts", ":id", "unfreeze", access: .staff(AccessPolicy.supervise), use: unfreeze)
        routes.page(.GET, "feedback", access: .holder, use: feedbackPage)
        routes.page(.POST, "feedback", access: .holder, use: sendFeedback)
        routes.page(.POST, "cases", ":id", "appeal", access: .holder, use: appeal)
    }

    /// The error text of a refused form, for a notice.
    func failure(_ error: UserFacingError, _ req: Request) -> String { error.message(req.lang) }

    // MARK: Alerts

    @Sendable func alerts(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let state = ["active", "resolved", "all"].contains(req.query[String.self, at: "state"] ?? "") ? req.query[String.self, at: "state"]! : "active"
        return try await alertsPage(req, staff: staff.account, state: state, notice: req.query[String.self, at: "done"] == "1" ? StaffText.decided(req.lang) : nil)
    }

    func alertsPage(_ req: Request, staff: Account, state: String, notice: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let cipher = req.shiming.cipher
        let list = try await features.alerts.list(state: state).map { try RiskAlertView($0, cipher: cipher) }
        let html = ExceptionPages.alerts(list, state: state, lang: req.lang, csrf: PageCSRF.token(for: req).0,
                                         canHandle: !staff.roles.isDisjoint(with: AccessPolicy.handleAlerts), notice: notice)
        return staffPages.html(html.render(), status: status)
    }

    func moveAlert(_ req: Request, to state: RiskAlertState) async throws -> Response {
        let staff = try req.caller
        let id = try req.uuidParameter()
        let note = try? req.content.get(String.self, at: "note-\(id.lowercasedText)")
        return try await PageAction.run {
            _ = try await features.alerts.move(id, to: state, note: note, staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/alerts?done=1", redirectType: .normal)
        } refused: { error in
            return try await alertsPage(req, staff: staff.account, state: "active", notice: failure(error, req), status: error.kind.status)
        }
    }

    @Sendable func acknowledge(_ req: Request) async throws -> Response { try await moveAlert(req, to: .acknowledged) }
    @Sendable func resolve(_ req: Request) async throws -> Response { try await moveAlert(req, to: .resolved) }

    // MARK: Feedback (staff)

    @Sendable func staffFeedback(_ req: Request) async throws -> Response {
        return try await feedbackList(req, notice: req.query[String.self, at: "done"] == "1" ? StaffText.decided(req.lang) : nil)
    }

    func feedbackList(_ req: Request, notice: String?, status: HTTPResponseStatus = .ok) async throws -> Response {
        let items = try await features.feedback.list(state: nil, tag: req.query[String.self, at: "tag"])
            .map(FeedbackView.init)
        return staffPages.html(ExceptionPages.staffFeedback(items, lang: req.lang, csrf: PageCSRF.token(for: req).0, notice: notice).render(),
                               status: status)
    }

    @Sendable func tagFeedback(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let text = (try? req.content.get(String.self, at: "tags")) ?? ""
        let tags = text.split(whereSeparator: { $0 == "," || $0 == "，" }).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return try await PageAction.run {
            _ = try await features.feedback.update(try req.uuidParameter(), tags: tags, read: true, staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/feedback?done=1", redirectType: .normal)
        } refused: { error in
            return try await feedbackList(req, notice: failure(error, req), status: error.kind.status)
        }
    }

    @Sendable func answerFeedback(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let id = try req.uuidParameter()
        let text = try? req.content.get(String.self, at: "answer-\(id.lowercasedText)")
        return try await PageAction.run {
            _ = try await features.feedback.answer(id, text: text, staff: staff.account, ip: req.clientIP)
            return req.redirect(to: "/staff/feedback?done=1", redirectType: .normal)
        } refused: { error in
            return try await feedbackList(req, notice: failure(error, req), status: error.kind.status)
        }
    }

    // MARK: Figures

    @Sendable func figures(_ req: Request) async throws -> Response {
        let from = req.query[String.self, at: "from"], to = req.query[String.self, at: "to"]
        var error: String?
        var period: (Date, Date)
        do {
            period = try ReviewFigures.period(from: from, to: to, now: req.now)
        } catch let refusal as UserFacingError {
            error = failure(refusal, req)
            period = try ReviewFigures.period(from: nil, to: nil, now: req.now)
        }
        let report = try await ReviewFigures.report(from: period.0, to: period.1, lang: req.lang, programs: req.shiming.programs, in: Store(req.db, context: req.shiming))
        let html = ExceptionPages.figures(report, from: ChinaTime.day(period.0), to: ChinaTime.day(period.1.addingTimeInterval(-1)),
                                          lang: req.lang, error: error)
        return staffPages.html(html.render(), status: error == nil ? .ok : .unprocessableEntity)
    }

    // MARK: Freezes

    func accountPage(_ req: Request, _ id: UUID, notice: String, kind: String, status: HTTPResponseStatus,
                     errors: [String: String] = [:]) async throws -> Response {
        let detail = try await features.admin.detail(id)
        var model = StaffPages.AccountLookupModel(lang: req.lang, login: detail.account.username ?? "", detail: detail, searched: true)
        model.csrf = PageCSRF.token(for: req).0
        model.canFreeze = true
        model.canErase = (try? req.caller.account.roles.isDisjoint(with: AccessPolicy.administer)) == false
        model.notice = (notice, kind)
        model.errors = errors
        return staffPages.html(StaffPages.accounts(model).render(), status: status)
    }

    @Sendable func freeze(_ req: Request) async throws -> Response {
        try await changeFreeze(req, done: ReviewText.frozenDone) { service, id, staff in
            try await service.freeze(accountID: id, reason: try? req.content.get(String.self, at: "reason"), staff: staff, ip: req.clientIP)
        }
    }

    @Sendable func unfreeze(_ req: Request) async throws -> Response {
        try await changeFreeze(req, done: ReviewText.unfrozenDone) { service, id, staff in
            try await service.unfreeze(accountID: id, note: try? req.content.get(String.self, at: "note"), staff: staff, ip: req.clientIP)
        }
    }

    /// Freezes or unfreezes the account `:id` from its page, which shows the outcome.
    func changeFreeze(_ req: Request, done: LocalizedText, _ change: (FreezeService, UUID, Account) async throws -> Void) async throws -> Response {
        let staff = try req.caller
        let id = try req.uuidParameter()
        return try await PageAction.run {
            try await change(features.freezes, id, staff.account)
            return try await accountPage(req, id, notice: done(req.lang), kind: "ok", status: .ok)
        } refused: { error in
            return try await accountPage(req, id, notice: failure(error, req), kind: "error", status: error.kind.status, errors: error.fields)
        }
    }

    // MARK: Applicants: feedback and appeals

    @Sendable func feedbackPage(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        return try await feedbackForm(req, account: authenticated.account, page: req.query[String.self, at: "page"],
                                      caseID: req.query[String.self, at: "case"], error: nil, value: "",
                                      notice: req.query[String.self, at: "sent"] == "1" ? ExceptionPages.sent(req.lang) : nil)
    }

    func feedbackForm(_ req: Request, account: Account, page: String?, caseID: String?, error: String?, value: String, notice: String?,
                      status: HTTPResponseStatus = .ok) async throws -> Response {
        let items = try await features.feedback.mine(account).map(FeedbackView.init)
        let safePage = page.flatMap { $0.hasPrefix("/") && !$0.contains("?") && $0.count <= 200 ? $0 : nil }
        let html = ExceptionPages.feedback(items, lang: req.lang, csrf: PageCSRF.token(for: req).0, page: safePage,
                                           caseID: caseID.flatMap(UUID.init(uuidString:))?.lowercasedText, error: error, value: value,
                                           notice: notice, staff: account.kind == .staff)
        return staffPages.html(html.render(), status: status)
    }

    struct FeedbackForm: Content {
        var text: String?
        var page: String?
        var caseId: String?
    }

    @Sendable func sendFeedback(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let form = try req.content.decode(FeedbackForm.self)
        return try await PageAction.run {
            _ = try await features.feedback.send(text: form.text, caseID: form.caseId.flatMap(UUID.init(uuidString:)),
                                                 page: form.page, account: authenticated.account, ip: req.clientIP)
            return req.redirect(to: "/feedback?sent=1", redirectType: .normal)
        } refused: { error in
            return try await feedbackForm(req, account: authenticated.account, page: form.page, caseID: form.caseId,
                                          error: error.fields["text"].map { Forms.message(for: $0, lang: req.lang) } ?? failure(error, req),
                                          value: form.text ?? "", notice: nil, status: error.kind.status)
        }
    }

    @Sendable func appeal(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let caseID = try req.uuidParameter()
        let reason = try? req.content.get(String.self, at: "reason")
        return try await PageAction.run {
            _ = try await features.freezes.appeal(caseID: caseID, account: authenticated.account, reason: reason, ip: req.clientIP)
            return req.redirect(to: "/cases/\(caseID.lowercasedText)?done=appealed", redirectType: .normal)
        } refused: { error in
            return try await WebCasesController(features: features).statusPage(req, account: authenticated.account, caseID: caseID, status: error.kind.status) {
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
                $0.errors = error.fields
                $0.values["reason"] = reason ?? ""
            }
        }
    }
}
