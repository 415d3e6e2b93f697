import Foundation
import IdentityRules
import NIOFoundationCompat
import Plot
import ShimingCore
import Vapor

/// `/account/change-requests`: the applicant's change requests, on `ChangeRequestService`.
struct WebChangeRequestsController {
    let features: Features

    var pages: WebAccountsController { WebAccountsController(features: features) }

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "account", "change-requests", access: .signedIn, use: list)
        routes.page(.POST, "account", "change-requests", access: .signedIn, body: .stream, use: create)
        routes.page(.POST, "account", "change-requests", ":id", "proofs", access: .signedIn, body: .stream, use: addProof)
        routes.page(.GET, "account", "change-requests", ":id", "proofs", ":file", access: .signedIn, use: proof)
    }

    func render(_ req: Request, _ account: Account, status: HTTPResponseStatus = .ok,
                configure: (inout ChangeRequestPages.Model) -> Void = { _ in }) async throws -> Response {
        var model = ChangeRequestPages.Model(
            lang: req.lang, csrf: PageCSRF.token(for: req).0,
            requests: try await features.changeRequests.list(account: account)
        )
        // What is on record now (the verified values once a verification filled them), masked.
        model.current = [
            (ChangeRequestField.username, account.username ?? "—"),
            (ChangeRequestField.legalName, account.legalName.map(PersonalName.mask) ?? "—"),
            (ChangeRequestField.gender, account.gender.flatMap { ChangeRequestPages.genders[$0]?(req.lang) } ?? "—"),
        ]
        configure(&model)
        return pages.page(ChangeRequestPages.page(model).render(), cookie: nil, status: status)
    }

    @Sendable func list(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let notice: String? = switch req.query[String.self, at: "done"] {
        case "filed": ChangeRequestPages.filed(req.lang)
        case "proof": ChangeRequestPages.proofAdded(req.lang)
        default: nil
        }
        return try await render(req, authenticated.account) { $0.notice = notice }
    }

    /// The new-request form, streamed (its CSRF token is in its address): the fields, and the
    /// proof sealed while it arrives.
    @Sendable func create(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let service = features.changeRequests
        let files = req.shiming.files
        var values = ["field": "", "newValue": "", "reason": ""]
        return try await PageAction.run {
            let form = try await StreamedForm.receive(req, into: files, owner: authenticated.account.id, fields: ["field", "newValue", "reason", "_csrf"],
                                                      maxFileBytes: ChangeRequestService.maxProofBytes)
            for key in values.keys { values[key] = form.fields[key] ?? "" }
            return try await files.owning(form.file) {
                // The proof is checked first, so that a bad file does not leave a request behind.
                guard let upload = form.file else { throw SealedFiles.problem(.empty) }
                _ = try ChangeRequestService.checkProof(upload)
                var newValue = values["newValue"] ?? ""
                if values["field"] == ChangeRequestField.gender.rawValue { newValue = ChangeRequestPages.genderValue(newValue) }
                let request = try await service.create(
                    account: authenticated.account, .init(field: values["field"] ?? "", newValue: newValue, reason: values["reason"] ?? ""), ip: req.clientIP
                )
                _ = try await service.addProof(to: request.id, account: authenticated.account, file: upload, ip: req.clientIP)
                return req.redirect(to: "/account/change-requests?done=filed", redirectType: .normal)
            }
        } refused: { error in
            return try await render(req, authenticated.account, status: error.kind.status) {
                $0.values = values
                $0.errors = error.fields
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
            }
        }
    }

    @Sendable func addProof(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let id = try req.uuidParameter()
        let files = req.shiming.files
        return try await PageAction.run {
            let form = try await StreamedForm.receive(req, into: files, owner: authenticated.account.id, fields: ["_csrf"], maxFileBytes: ChangeRequestService.maxProofBytes)
            guard let upload = form.file else { throw SealedFiles.problem(.empty) }
            _ = try await features.changeRequests.addProof(to: id, account: authenticated.account, file: upload, ip: req.clientIP)
            return req.redirect(to: "/account/change-requests?done=proof", redirectType: .normal)
        } refused: { error in
            return try await render(req, authenticated.account, status: error.kind.status) {
                $0.proofErrors[id] = error.fields["file"].map { Forms.message(for: $0, lang: req.lang) } ?? error.message(req.lang)
                $0.notice = error.message(req.lang)
                $0.noticeKind = "error"
            }
        }
    }

    @Sendable func proof(_ req: Request) async throws -> Response {
        let (file, data) = try await features.changeRequests.ownProof(try req.uuidParameter("file"), request: try req.uuidParameter(),
                                                                      account: try req.caller.account)
        return file.response(data)
    }
}
