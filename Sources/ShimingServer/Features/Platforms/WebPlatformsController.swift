import Foundation
import Plot
import ShimingCore
import Vapor

/// `/staff/platforms`: the desk's platform pages, on `PlatformService`.
struct WebPlatformsController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        let access = Access.staff(AccessPolicy.administer)
        routes.page(.GET, "staff", "platforms", access: access, use: list)
        routes.page(.POST, "staff", "platforms", access: access, use: create)
        routes.page(.GET, "staff", "platforms", ":id", access: access, use: detail)
        routes.page(.POST, "staff", "platforms", ":id", access: access, use: update)
        routes.page(.POST, "staff", "platforms", ":id", "keys", access: access, use: addKey)
        routes.page(.POST, "staff", "platforms", ":id", "keys", ":key", "revoke", access: access, use: revokeKey)
        routes.page(.POST, "staff", "platforms", ":id", "webhook-secret", access: access, use: rotateSecret)
        routes.page(.POST, "staff", "platforms", ":id", "deliveries", ":delivery", "redeliver", access: access, use: redeliver)
    }

    struct Form: Content {
        var name: String?
        var purpose: String?
        var redirectUris: String?
        var webhookUrl: String?
        var programs: [String]?
        var claims: [String]?

        var registration: PlatformService.Registration {
            let webhook = webhookUrl?.trimmingCharacters(in: .whitespaces) ?? ""
            return .init(name: name ?? "", purpose: purpose, redirectUris: (redirectUris ?? "").split(whereSeparator: \.isNewline)
                            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty },
                         webhookUrl: webhook.isEmpty ? nil : webhook, programs: programs ?? [], claims: claims ?? [])
        }
        var values: [String: String] { ["name": name ?? "", "purpose": purpose ?? "", "redirectUris": redirectUris ?? "", "webhookUrl": webhookUrl ?? ""] }
        var checked: Set<String> { Set((programs ?? []).map { "programs:\($0)" } + (claims ?? []).map { "claims:\($0)" }) }
    }

    func html(_ page: HTML, status: HTTPResponseStatus = .ok) -> Response { WebController.html(page.render(), status: status) }
    var programs: [Program] { features.platforms.context.programs.programs }

    @Sendable func list(_ req: Request) async throws -> Response {
        html(PlatformPages.list(try await features.platforms.list(), programs: programs, csrf: PageCSRF.token(for: req).0, lang: req.lang))
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let staff = try req.caller.account
        let form = (try? req.content.decode(Form.self)) ?? Form()
        return try await PageAction.run {
            let registered = try await features.platforms.register(form.registration, staff: staff, ip: req.clientIP)
            return try await detailPage(req, registered.platform.id, shown: [.init(label: "API key", value: registered.apiKey),
                                                                             .init(label: "Webhook secret", value: registered.webhookSecret)])
        } refused: { error in
            html(PlatformPages.list(try await features.platforms.list(), programs: programs, csrf: PageCSRF.token(for: req).0, lang: req.lang,
                                    values: form.values, checked: form.checked, errors: error.fields, notice: error.message(req.lang)),
                 status: error.kind.status)
        }
    }

    func detailPage(_ req: Request, _ id: UUID, shown: [PlatformPages.Shown] = [], errors: [String: String] = [:], notice: String? = nil,
                    status: HTTPResponseStatus = .ok) async throws -> Response {
        let service = features.platforms
        let platform = try await service.find(id)
        return html(PlatformPages.detail(platform, keys: try await service.keys(of: id), deliveries: try await service.deliveries(of: id),
                                         programs: programs, csrf: PageCSRF.token(for: req).0, lang: req.lang, shown: shown, errors: errors,
                                         notice: notice), status: status)
    }

    @Sendable func detail(_ req: Request) async throws -> Response {
        try await detailPage(req, try req.uuidParameter(), notice: req.query[String.self, at: "done"].map { _ in PlatformPages.saved(req.lang) })
    }

    @Sendable func update(_ req: Request) async throws -> Response {
        let staff = try req.caller.account
        let id = try req.uuidParameter()
        let form = (try? req.content.decode(Form.self)) ?? Form()
        let input = form.registration
        return try await PageAction.run {
            _ = try await features.platforms.update(id, .init(name: input.name, purpose: input.purpose, redirectUris: input.redirectUris,
                                                              webhookUrl: input.webhookUrl ?? "", programs: input.programs, claims: input.claims),
                                                    staff: staff, ip: req.clientIP)
            return req.redirect(to: "/staff/platforms/\(id.lowercasedText)?done=1", redirectType: .normal)
        } refused: { error in
            try await detailPage(req, id, errors: error.fields, notice: error.message(req.lang), status: error.kind.status)
        }
    }

    @Sendable func addKey(_ req: Request) async throws -> Response {
        let id = try req.uuidParameter()
        let (_, apiKey) = try await features.platforms.addKey(to: id, staff: try req.caller.account, ip: req.clientIP)
        return try await detailPage(req, id, shown: [.init(label: "API key", value: apiKey)])
    }

    @Sendable func revokeKey(_ req: Request) async throws -> Response {
        let id = try req.uuidParameter()
        try await features.platforms.revokeKey(try req.uuidParameter("key"), of: id, staff: try req.caller.account, ip: req.clientIP)
        return req.redirect(to: "/staff/platforms/\(id.lowercasedText)?done=1", redirectType: .normal)
    }

    @Sendable func rotateSecret(_ req: Request) async throws -> Response {
        let id = try req.uuidParameter()
        let secret = try await features.platforms.rotateSecret(of: id, staff: try req.caller.account, ip: req.clientIP)
        return try await detailPage(req, id, shown: [.init(label: "Webhook secret", value: secret)])
    }

    @Sendable func redeliver(_ req: Request) async throws -> Response {
        let id = try req.uuidParameter()
        try await features.platforms.redeliver(try req.uuidParameter("delivery"), of: id, staff: try req.caller.account, ip: req.clientIP)
        return req.redirect(to: "/staff/platforms/\(id.lowercasedText)?done=1", redirectType: .normal)
    }
}
