import Fluent
import Foundation
import Plot
import ShimingCore
import Vapor

/// `/staff`: the staff desk and its pages, on the same services and rules as the admin API.
struct WebStaffController {
    let features: Features

    var pages: WebAccountsController { WebAccountsController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        let staff = routes.grouped("staff")
        staff.page(.GET, access: .staff(AccessPolicy.anyStaff), use: desk)
        staff.page(.GET, "change-requests", access: .staff(AccessPolicy.readChangeRequests), use: changeRequests)
        staff.page(.GET, "change-requests", ":id", access: .staff(AccessPolicy.readChangeRequests), use: changeRequest)
        staff.page(.GET, "change-requests", ":id", "proofs", ":file", access: .staff(AccessPolicy.readChangeRequests), use: proof)
        staff.page(.POST, "change-requests", ":id", "decision", access: .staff(AccessPolicy.decideChangeRequests), use: decide)
        staff.page(.GET, "accounts", access: .staff(AccessPolicy.readAccounts), use: accounts)
        staff.page(.GET, "new", access: .staff(AccessPolicy.administer), use: newStaffPage)
        staff.page(.POST, "new", access: .staff(AccessPolicy.administer), use: newStaffSubmit)
        staff.page(.GET, "outbox", access: .staff(AccessPolicy.readOutbox), use: outbox)
        staff.page(.POST, "outbox", ":id", "retry", access: .staff(AccessPolicy.administer), use: retry)
    }

    func html(_ html: String, status: HTTPResponseStatus = .ok) -> Response { pages.page(html, cookie: nil, status: status) }

    @Sendable func desk(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let roles = staff.account.roles
        let pending = roles.isDisjoint(with: AccessPolicy.readChangeRequests) ? nil
            : try await features.changeRequests.pendingCount()
        let failed = roles.isDisjoint(with: AccessPolicy.readOutbox) ? nil
            : try await features.admin.failedMessageCount()
        let tasks = roles.isDisjoint(with: AccessPolicy.reviewCases) ? nil
            : try await features.review.visibleTasks(staff: staff.account, state: .open, scope: "all").count
        let alerts = roles.isDisjoint(with: AccessPolicy.readAlerts) ? nil
            : try await features.alerts.openCount()
        let feedback = roles.isDisjoint(with: AccessPolicy.handleFeedback) ? nil
            : try await features.feedback.unreadCount()
        return html(StaffPages.desk(.init(lang: req.lang, account: staff.account, pendingChangeRequests: pending, failedMessages: failed,
                                          openTasks: tasks, openAlerts: alerts, newFeedback: feedback)).render())
    }

    @Sendable func changeRequests(_ req: Request) async throws -> Response {
        let requests = try await features.changeRequests.list(state: .pending, limit: 200)
        let notice = req.query[String.self, at: "done"] == "1" ? StaffText.decided(req.lang) : nil
        return html(StaffPages.changeRequests(requests, lang: req.lang, notice: notice).render())
    }

    func changeRequestPage(_ req: Request, staff: Request.Authenticated, request: ChangeRequest, status: HTTPResponseStatus = .ok,
                           configure: (inout StaffPages.ChangeRequestModel) -> Void = { _ in }) async throws -> Response {
        let applicant = try await features.accounts.account(request.accountID)
        var model = StaffPages.ChangeRequestModel(
            lang: req.lang, csrf: PageCSRF.token(for: req).0, request: request, applicant: applicant,
            canDecide: !staff.account.roles.isDisjoint(with: AccessPolicy.decideChangeRequests) && request.accountID != staff.account.id
        )
        configure(&model)
        return html(StaffPages.changeRequest(model).render(), status: status)
    }

    @Sendable func changeRequest(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let request = try await features.changeRequests.staffView(
            try req.uuidParameter(), action: "change_request.viewed", staff: staff.account, ip: req.clientIP)
        return try await changeRequestPage(req, staff: staff, request: request)
    }

    @Sendable func proof(_ req: Request) async throws -> Response {
        let (file, data) = try await features.changeRequests.staffProof(try req.uuidParameter("file"), request: try req.uuidParameter(),
                                                                        staff: try req.caller.account, ip: req.clientIP)
        return file.response(data)
    }

    struct DecisionForm: Content {
        var outcome: String?
        var note: String?
    }

    @Sendable func decide(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let id = try req.uuidParameter()
        let form = try req.content.decode(DecisionForm.self)
        let service = features.changeRequests
        return try await PageAction.run {
            _ = try await service.decide(id, staff: staff.account, .init(outcome: form.outcome ?? "", note: form.note), ip: req.clientIP)
            return req.redirect(to: "/staff/change-requests?done=1", redirectType: .normal)
        } refused: { error in
            return try await changeRequestPage(req, staff: staff, request: try await service.reloaded(id), status: error.kind.status) {
                $0.errors = error.fields
                $0.notice = error.message(req.lang)
                $0.note = form.note ?? ""
            }
        }
    }

    @Sendable func accounts(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let login = (req.query[String.self, at: "login"] ?? "").trimmingCharacters(in: .whitespaces)
        var model = StaffPages.AccountLookupModel(lang: req.lang, login: login)
        model.csrf = PageCSRF.token(for: req).0
        model.canFreeze = !staff.account.roles.isDisjoint(with: AccessPolicy.supervise)
        model.canErase = !staff.account.roles.isDisjoint(with: AccessPolicy.administer)
        let admin = features.admin
        // Each account shown is a look at that account, in its access log.
        let view = { (account: Account) in try await admin.view(account, staff: staff.account, ip: req.clientIP) }
        if let id = req.query[String.self, at: "id"].flatMap(UUID.init(uuidString:)) {
            model.searched = true
            if let found = try await features.accounts.account(id) { model.detail = try await view(found) }
        } else if let number = req.query[String.self, at: "number"]?.trimmingCharacters(in: .whitespaces), !number.isEmpty {
            // Through the blind index only, and audited: who looked for a number, not the number.
            model.searched = true
            let holders = try await features.cases.accounts(holdingNumber: number, staff: staff.account, ip: req.clientIP)
            if holders.count == 1, let only = holders.first {
                model.detail = try await view(only)
            } else if !holders.isEmpty {
                for holder in holders { model.matches.append(try await view(holder)) }
                model.notice = (StaffText.numberMatches(req.lang), "ok")
            }
        } else if !login.isEmpty {
            model.searched = true
            if let found = try await features.accounts.findAccount(login: login) {
                model.detail = try await view(found)
            }
        }
        return html(StaffPages.accounts(model).render())
    }

    @Sendable func newStaffPage(_ req: Request) async throws -> Response {
        return html(StaffPages.newStaff(.init(lang: req.lang, csrf: PageCSRF.token(for: req).0)).render())
    }

    struct NewStaffForm: Content {
        var username: String?
        var password: String?
        var roles: [String]?
        var phone: String?
        var email: String?
        var school: String?
        var grade: String?
        var `class`: String?
    }

    @Sendable func newStaffSubmit(_ req: Request) async throws -> Response {
        let admin = try req.caller
        let form = try req.content.decode(NewStaffForm.self)
        let csrf = PageCSRF.token(for: req).0
        func blank(_ value: String?) -> String? { value.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 } }
        let input = AccountService.StaffInput(
            username: form.username ?? "", password: form.password ?? "", roles: form.roles ?? [], phone: blank(form.phone),
            email: blank(form.email), school: blank(form.school), grade: blank(form.grade), class: blank(form.class)
        )
        return try await PageAction.run {
            let account = try await features.accounts.createStaff(input, actor: .staff(admin.account.id), ip: req.clientIP)
            return html(StaffPages.newStaff(.init(lang: req.lang, csrf: csrf, notice: StaffText.created(req.lang) + (account.username ?? ""))).render())
        } refused: { error in
            let values = ["username": form.username ?? "", "phone": form.phone ?? "", "email": form.email ?? "",
                          "school": form.school ?? "", "grade": form.grade ?? "", "class": form.class ?? ""]
            let model = StaffPages.NewStaffModel(lang: req.lang, csrf: csrf, values: values, roles: Set(form.roles ?? []), errors: error.fields,
                                                 notice: error.message(req.lang), noticeKind: "error")
            return html(StaffPages.newStaff(model).render(), status: error.kind.status)
        }
    }

    @Sendable func outbox(_ req: Request) async throws -> Response {
        let staff = try req.caller
        let entries = try await features.admin.outbox(status: OutboxStatus.failed.rawValue, limit: 200)
        let notice = req.query[String.self, at: "done"] == "1" ? StaffText.retried(req.lang) : nil
        return html(StaffPages.outbox(entries, lang: req.lang, csrf: PageCSRF.token(for: req).0,
                                      canRetry: !staff.account.roles.isDisjoint(with: AccessPolicy.administer), notice: notice).render())
    }

    @Sendable func retry(_ req: Request) async throws -> Response {
        let admin = try req.caller
        _ = try await features.admin.retry(try req.uuidParameter(), admin: admin.account, ip: req.clientIP)
        return req.redirect(to: "/staff/outbox?done=1", redirectType: .normal)
    }
}
