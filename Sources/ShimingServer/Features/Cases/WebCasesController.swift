import Fluent
import Foundation
import NIOFoundationCompat
import Plot
import ShimingCore
import Vapor

/// `/cases`: the applicant's verification pages, on `CaseService` (the same rules as the API).
struct WebCasesController {
    let features: Features

    var pages: WebAccountsController { WebAccountsController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "cases", access: .holder, use: list)
        routes.page(.POST, "cases", access: .signedIn, use: create)
        routes.page(.GET, "cases", ":id", access: .holder, use: status)
        routes.page(.GET, "cases", ":id", "edit", ":step", access: .signedIn, use: step)
        routes.page(.POST, "cases", ":id", "edit", "documents", access: .signedIn, body: .stream, use: upload)
        routes.page(.POST, "cases", ":id", "edit", ":step", access: .signedIn, body: .collect(maxSize: "64kb"), use: save)
        routes.page(.GET, "cases", ":id", "documents", ":file", access: .signedIn, use: document)
        routes.page(.POST, "cases", ":id", "documents", ":file", "delete", access: .signedIn, use: removeDocument)
        routes.page(.POST, "cases", ":id", "submit", access: .signedIn, use: submit)
        routes.page(.POST, "cases", ":id", "confirm", access: .signedIn, use: confirm)
        routes.page(.POST, "cases", ":id", "confirm", "resend", access: .signedIn, use: resend)
        routes.page(.POST, "cases", ":id", "consent", access: .signedIn, use: sendConsent)
        routes.page(.POST, "cases", ":id", "consent", "confirm", access: .signedIn, use: confirmConsent)
    }

    func service(_ req: Request) -> CaseService { features.cases }

    /// The signed-in account's case and its program.
    func load(_ req: Request) async throws -> (Account, Case, Program) {
        let authenticated = try req.caller
        let item = try await service(req).own(try req.uuidParameter(), account: authenticated.account)
        return (authenticated.account, item, try service(req).program(item.program))
    }

    func model(_ req: Request, _ item: Case, _ program: Program) -> CasePages.Model {
        CasePages.Model(lang: req.lang, csrf: PageCSRF.token(for: req).0, item: item, program: program,
                        helpPhone: req.shiming.configuration.helpPhone)
    }

    func redirect(_ req: Request, _ item: Case, _ suffix: String = "") -> Response {
        req.redirect(to: "/cases/\(item.id.lowercasedText)\(suffix)", redirectType: .normal)
    }

    @Sendable func list(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let cases = try await service(req).list(account: authenticated.account)
        let html = CasePages.list(cases, programs: req.shiming.programs.programs, csrf: PageCSRF.token(for: req).0, lang: req.lang, notice: nil,
                                  mayStart: authenticated.account.status != .frozen, sensitiveConsent: sensitiveConsent(req, authenticated.account))
        return pages.page(html.render(), cookie: nil)
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let program = (try? req.content.get(String.self, at: "program")) ?? ""
        let renews = (try? req.content.get(String.self, at: "renews")).flatMap(UUID.init(uuidString:))
        return try await PageAction.run {
            let item = try await service(req).create(account: authenticated.account, .init(program: program, renews: renews), ip: req.clientIP)
            let prefilled = renews == nil && item.application != CaseApplication()
            return redirect(req, item, prefilled ? "/edit/identity?prefilled=1" : "/edit/identity")
        } refused: { error in
            let cases = try await service(req).list(account: authenticated.account)
            let html = CasePages.list(cases, programs: req.shiming.programs.programs, csrf: PageCSRF.token(for: req).0, lang: req.lang,
                                      notice: error.message(req.lang), sensitiveConsent: sensitiveConsent(req, authenticated.account))
            return pages.page(html.render(), cookie: nil, status: error.kind.status)
        }
    }

    /// The sensitive-data consent text to ask for before an application can start (nil: given).
    func sensitiveConsent(_ req: Request, _ account: Account) -> ConsentText? {
        account.consents[.sensitive] == nil ? req.shiming.consents.text(.sensitive) : nil
    }

    /// A case's status page; a frozen holder sees it too (to read why and appeal).
    func statusPage(_ req: Request, account: Account, caseID: UUID, status: HTTPResponseStatus = .ok,
                    configure: (inout CasePages.Model) -> Void = { _ in }) async throws -> Response {
        let item = try await service(req).own(caseID, account: account)
        var model = model(req, item, try service(req).program(item.program))
        model.waitingSessions = try await features.sessions.waiting(for: account)
        configure(&model)
        return pages.page(CasePages.status(model).render(), cookie: nil, status: status)
    }

    @Sendable func status(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let done = req.query[String.self, at: "done"]
        return try await statusPage(req, account: authenticated.account, caseID: try req.uuidParameter()) { model in
            Self.notice(done, &model, req.lang)
        }
    }

    static func notice(_ done: String?, _ model: inout CasePages.Model, _ lang: Lang) {
        switch done {
        case "appealed": model.notice = CasePages.appealed(lang)
        case "submitted":
            // Green only when nothing is left for the applicant to do.
            if model.item.state == .returned {
                model.notice = CasePages.submittedReturned(lang)
                model.noticeKind = "error"
            } else {
                model.notice = CasePages.submitted(lang)
            }
        case "confirmed": model.notice = CasePages.confirmed(lang)
        case "consented": model.notice = CasePages.consented(lang)
        case "resent": model.notice = CasePages.sent(lang)
        case "sent":
            model.notice = CasePages.sent(lang)
            model.values["consent"] = "sent"
        default: break
        }
    }

    func render(_ req: Request, step: CasePages.Step, _ model: CasePages.Model, status: HTTPResponseStatus = .ok) async throws -> Response {
        var model = model
        if step == .details, model.program.sections.contains(.school), model.program.registry.source == .roster {
            let school = model.item.application.school
            let offered = try await RosterClasses.offered(school: school?.school, grade: school?.grade, in: Store(req.db, context: req.shiming))
            (model.rollSchools, model.rollGrades, model.rollClasses) = offered
        }
        let html: String
        switch step {
        case .identity: html = CasePages.identity(model).render()
        case .details: html = CasePages.details(model).render()
        case .documents: html = CasePages.documents(model).render()
        case .review:
            let service = service(req)
            model.preview = service.localChecks(model.item, account: try req.requireAccount(),
                                                evaluator: CaseEvaluator(program: model.program, today: service.today))
            html = CasePages.review(model).render()
        }
        return pages.page(html, cookie: nil, status: status)
    }

    @Sendable func step(_ req: Request) async throws -> Response {
        let (_, item, program) = try await load(req)
        guard let step = req.parameter("step").flatMap(CasePages.Step.init(rawValue:)) else { throw CommonErrors.notFound }
        guard item.state.isEditable else { return redirect(req, item) }
        var model = model(req, item, program)
        model.question = req.query[Int.self, at: "q"]
        if req.query[String.self, at: "prefilled"] == "1" { model.notice = CasePages.prefilled(req.lang) }
        if step == .documents, let code = req.query[String.self, at: "problem"], let kind = req.query[String.self, at: "kind"],
           let rule = program.documents.first(where: { $0.kind.rawValue == kind }), code.count <= 40 {
            model.errors["file-\(kind)"] = code
            model.notice = CasePages.uploadProblem(code, rule: rule, lang: req.lang)
            model.noticeKind = "error"
        }
        return try await render(req, step: step, model)
    }

    /// One upload on the documents step, streamed: the case is found before any of the body is
    /// read (the form carries its CSRF token in its address), the file sealed while it arrives.
    @Sendable func upload(_ req: Request) async throws -> Response {
        let (account, item, program) = try await load(req)
        guard item.state.isEditable else { return redirect(req, item) }
        let service = service(req)
        let files = req.shiming.files
        var kind: Program.DocumentKind?
        return try await PageAction.run {
            try account.checkMayAct()
            let form = try await StreamedForm.receive(req, into: files, owner: account.id, fields: ["kind", "_csrf"],
                                                      maxFileBytes: program.largestDocumentBytes)
            kind = form.fields["kind"].flatMap(Program.DocumentKind.init(rawValue:))
            guard let file = form.file else { throw AccountError.invalid(["file": "required"]) }
            // The household register takes two pages (the head's and the applicant's); other kinds one picture each.
            _ = try await service.addDocument(to: item.id, account: account, kind: form.fields["kind"], file: file,
                                              replace: kind != .householdRegister, ip: req.clientIP)
            return redirect(req, item, "/edit/documents#document-\(kind?.rawValue ?? "")")
        } refused: { error in
            // Back to the step's own address, with the problem named at the document it concerns.
            let code = error.fields["file"] ?? error.fields["kind"] ?? "invalid_value"
            return redirect(req, item, "/edit/documents?problem=\(code)&kind=\(kind?.rawValue ?? "")#document-\(kind?.rawValue ?? "")")
        }
    }

    /// Saves one step's text fields through the same merge as `PATCH /cases/{id}`.
    @Sendable func save(_ req: Request) async throws -> Response {
        let (account, item, program) = try await load(req)
        guard let step = req.parameter("step").flatMap(CasePages.Step.init(rawValue:)), step != .documents else { throw CommonErrors.notFound }
        let service = service(req)
        let form = (try? req.content.decode([String: String].self)) ?? [:]
        var values = form
        values["_csrf"] = nil
        // In large type a step comes one question at a time; `_q` is the one just answered.
        let question = values.removeValue(forKey: "_q").flatMap { Int($0) }
        return try await PageAction.run {
            let input = try Self.input(form, step: step)
            let problems = try service.stepProblems(input, into: item, program: program, fields: Set(values.keys))
            if !problems.isEmpty { throw AccountError.invalid(problems) }
            let updated = try await service.update(item.id, account: account, input, ip: req.clientIP)
            guard updated.state.isEditable else { return redirect(req, updated) }  // an edited pending case was checked again
            if let question, question + 1 < CasePages.questionNames(step, program: program).count {
                return redirect(req, updated, "/edit/\(step.rawValue)?q=\(question + 1)")
            }
            return redirect(req, updated, "/edit/\(CasePages.following(step, in: program).rawValue)")
        } refused: { error in
            var model = model(req, item, program)
            model.question = question
            model.values = values
            model.errors = error.fields
            model.notice = error.message(req.lang)
            model.noticeKind = "error"
            return try await render(req, step: step, model, status: error.kind.status)
        }
    }

    /// The form's fields (named as in the API, e.g. `identity.name`) as an update.
    static func input(_ form: [String: String], step: CasePages.Step) throws -> CaseService.Input {
        var input = CaseService.Input()
        func has(_ prefix: String) -> Bool { form.keys.contains { $0.hasPrefix(prefix + ".") } }
        if has("identity") {
            input.identity = .init(name: form["identity.name"], documentType: form["identity.documentType"], documentNumber: form["identity.documentNumber"],
                                   gender: form["identity.gender"], address: form["identity.address"])
        }
        if has("school") {
            var year: Int?
            if let raw = form["school.enrolmentYear"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
                guard let parsed = Int(raw) else { throw AccountError.invalid(["school.enrolmentYear": "invalid_format"]) }
                year = parsed
            }
            input.school = .init(school: form["school.school"], grade: form["school.grade"], class: form["school.class"], enrolmentYear: year)
        }
        if has("guardian") {
            input.guardian = .init(name: form["guardian.name"], phone: form["guardian.phone"], relation: form["guardian.relation"],
                                   documentNumber: form["guardian.documentNumber"])
        }
        if has("organisation") {
            input.organisation = .init(name: form["organisation.name"], creditCode: form["organisation.creditCode"], representative: form["organisation.representative"])
        }
        return input
    }

    @Sendable func document(_ req: Request) async throws -> Response {
        let (_, item, _) = try await load(req)
        let fileID = try req.uuidParameter("file")
        let (file, data) = try await service(req).document(fileID, of: item)
        return file.response(data)
    }

    @Sendable func removeDocument(_ req: Request) async throws -> Response {
        let (account, item, _) = try await load(req)
        let fileID = try req.uuidParameter("file")
        try await service(req).removeDocument(fileID, from: item.id, account: account, ip: req.clientIP)
        return redirect(req, item, "/edit/documents")
    }

    /// Runs an action and shows the status page, with the error there if it failed.
    func act(_ req: Request, done: String, errorField: String? = nil,
             _ action: @Sendable (CaseService, Account, Case) async throws -> Void) async throws -> Response {
        let (account, item, program) = try await load(req)
        return try await PageAction.run {
            try await action(service(req), account, item)
            return redirect(req, item, "?done=\(done)")
        } refused: { error in
            return try await failed(req, error, account: account, item: item, program: program, errorField: errorField)
        }
    }

    /// The status page with the error of an action on it.
    func failed(_ req: Request, _ error: UserFacingError, account: Account, item: Case, program: Program, errorField: String?) async throws -> Response {
        if error.code == "account_locked" {
            return req.redirect(to: "/signin", redirectType: .normal)
        }
        var model = model(req, (try? await service(req).own(item.id, account: account)) ?? item, program)
        model.notice = error.message(req.lang)
        model.noticeKind = "error"
        if let errorField { model.errors[errorField] = error.fields["code"] ?? "invalid" }
        if errorField == "consent" { model.values["consent"] = "sent" }
        return pages.page(CasePages.status(model).render(), cookie: nil, status: error.kind.status)
    }

    /// Submits; with required parts missing, the step holding the first of them opens with
    /// every missing field marked (nothing is counted).
    @Sendable func submit(_ req: Request) async throws -> Response {
        let (account, item, program) = try await load(req)
        return try await PageAction.run {
            _ = try await service(req).submit(item.id, account: account, ip: req.clientIP)
            return redirect(req, item, "?done=submitted")
        } refused: { error in
            guard error.code == "application_incomplete" else {
                return try await failed(req, error, account: account, item: item, program: program, errorField: nil)
            }
            let first = CasePages.Step.steps(for: program).first { step in error.fields.keys.contains { CasePages.Step.holding($0) == step } } ?? .identity
            var model = model(req, item, program)
            model.errors = error.fields
            model.notice = error.message(req.lang)
            model.noticeKind = "error"
            model.question = CasePages.questionNames(first, program: program).firstIndex { error.fields[$0] != nil }
            return try await render(req, step: first, model, status: error.kind.status)
        }
    }

    @Sendable func confirm(_ req: Request) async throws -> Response {
        let code = try? req.content.get(String.self, at: "code")
        return try await act(req, done: "confirmed", errorField: "code") { service, account, item in
            _ = try await service.confirm(item.id, account: account, code: code, ip: req.clientIP)
        }
    }

    @Sendable func resend(_ req: Request) async throws -> Response {
        try await act(req, done: "resent") { service, account, item in _ = try await service.resendConfirmation(item.id, account: account, ip: req.clientIP) }
    }

    @Sendable func sendConsent(_ req: Request) async throws -> Response {
        let lang = req.lang
        return try await act(req, done: "sent", errorField: "consent") { service, account, item in
            try await service.requestGuardianConsent(item.id, account: account, lang: lang, ip: req.clientIP)
        }
    }

    @Sendable func confirmConsent(_ req: Request) async throws -> Response {
        let code = try? req.content.get(String.self, at: "code")
        return try await act(req, done: "consented", errorField: "consent") { service, account, item in
            _ = try await service.confirmGuardianConsent(item.id, account: account, code: code, ip: req.clientIP, client: req.consentClient(.web))
        }
    }
}
