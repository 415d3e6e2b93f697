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
        routes.page(.POST, "account", "change-requests", access: .signedIn, body: .collect(maxSize: "6mb"), use: create)
        routes.page(.POST, "account", "change-requests", ":id", "proofs", access: .signedIn, body: .collect(maxSize: "6mb"), use: addProof)
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

    struct NewRequestForm: Content {
        var field: String?
        var newValue: String?
        var reason: String?
        var file: File?
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let authenticated = try req.caller
        let form = (try? req.content.decode(NewRequestForm.self)) ?? NewRequestForm()
        let values = ["field": form.field ?? "", "newValue": form.newValue ?? "", "reason": form.reason ?? ""]
        let bytes = form.file.map { Data(buffer: $0.data) } ?? Data()
        let service = features.changeRequests
        return try await PageAction.run {
            // The proof is checked first, so that a bad file does not leave a request behind.
            _ = try ChangeRequestService.checkProof(bytes)
            var newValue = form.newValue ?? ""
            if form.field == ChangeRequestField.gender.rawValue { newValue = ChangeRequestPages.genderValue(newValue) }
            let request = try await service.create(
                account: authenticated.account, .init(field: form.field ?? "", newValue: newValue, reason: form.reason ?? ""), ip: req.clientIP
            )
            _ = try await service.addProof(to: request.id, account: authenticated.account, bytes: bytes, ip: req.clientIP)
            return req.redirect(to: "/account/change-requests?done=filed", redirectType: .normal)
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
        let bytes = (try? req.content.decode(FileUpload.self))?.file.map { Data(buffer: $0.data) } ?? Data()
        return try await PageAction.run {
            _ = try await features.changeRequests.addProof(to: id, account: authenticated.account, bytes: bytes, ip: req.clientIP)
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
