import Foundation
import Plot
import ShimingCore
import Vapor

/// Deletion in the API: the person's request (`POST /api/v1/me/deletion`) and an
/// administrator's immediate erasure (`POST /api/v1/admin/accounts/{id}/erase`).
struct DeletionController {
    let features: Features

    static let keptSchema: JSONSchema = .array(.object(["key": .string(allowed: DeletionService.kept.map(\.key)), "text": .string()],
                                                        required: ["key", "text"]))
    static let components: [String: JSONSchema] = [
        "DeletionRequested": .object(["dueAt": .string(format: "date-time", description: "when the account is erased unless the person signs in before"),
                                      "kept": keptSchema], required: ["dueAt", "kept"]),
        "Erased": .object(["id": .string(format: "uuid"), "erased": .boolean(), "kept": keptSchema], required: ["id", "erased", "kept"]),
    ]

    func register(_ routes: any RoutesBuilder) {
        let api = routes.grouped("api", "v1")
        api.on(.POST, "me", "deletion", documentation: APIOperation(
            "requestDeletion", summary: "Close the caller's account: every session ends, and after 7 days (signing in before cancels it) all their personal data is erased; answers what is kept and why",
            tag: "accounts", requestBody: .object(["password": .string(minLength: 1)], required: ["password"]),
            responses: [202: .init("Requested", schema: .ref("DeletionRequested")), 422: .init("Wrong password")],
            components: Self.components, access: .holder
        ), use: request)
        api.on(.POST, "admin", "accounts", ":id", "erase", documentation: APIOperation(
            "eraseAccount", summary: "Erase an applicant's account now (grants revoked and platforms told, applications shredded, documents and contacts removed), with the reason; audited",
            tag: "admin", requestBody: .object(["reason": .string(description: "1–500 characters", minLength: 1, pattern: "\\S")], required: ["reason"]),
            responses: [200: .init("Erased", schema: .ref("Erased")), 409: .init("already_erased")],
            components: Self.components, access: .staff(AccessPolicy.administer)
        ), use: erase)
    }

    struct KeptBody: Content {
        var key: String, text: String
        static func all(_ lang: Lang) -> [KeptBody] { DeletionService.kept.map { KeptBody(key: $0.key, text: $0.text(lang)) } }
    }

    struct RequestInput: Content { var password: String? }
    struct RequestedBody: Content { var dueAt: Date, kept: [KeptBody] }
    struct EraseInput: Content { var reason: String? }
    struct ErasedBody: Content { var id: UUID, erased: Bool, kept: [KeptBody] }

    @Sendable func request(_ req: Request) async throws -> Response {
        let input = try req.content.decode(RequestInput.self)
        let due = try await features.deletion.request(try req.requireAccount(), password: input.password, ip: req.clientIP)
        return try await RequestedBody(dueAt: due, kept: KeptBody.all(req.lang)).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func erase(_ req: Request) async throws -> ErasedBody {
        let input = try req.content.decode(EraseInput.self)
        let id = try req.uuidParameter()
        try await features.deletion.erase(id, staff: try req.requireAccount(), reason: input.reason, ip: req.clientIP)
        return ErasedBody(id: id, erased: true, kept: KeptBody.all(req.lang))
    }
}

/// “注销账号” on My account: what is deleted, what is kept and why, the 7 days, the password.
enum DeletionPages {
    static let title = LocalizedText("注销账号", "Close my account")
    static let lead = LocalizedText(
        "注销后，您的手机号、邮箱、姓名、证件号码、证件照片、更正申请、意见反馈和发给您的消息都会删除，已授权的平台会收到撤回通知。申请后 7 天内登录即可取消；7 天后无法恢复。",
        "Closing deletes your phone, e-mail, name, document numbers, document photos, change requests, feedback and the messages sent to you, and the platforms you authorised are told the authorisation ended. Signing in within 7 days cancels it; after that it cannot be undone.")
    static let keptTitle = LocalizedText("会保留的记录（不含可识别您的信息）", "What is kept (nothing that identifies you)")
    static let password = LocalizedText("请输入密码确认", "Enter your password to confirm")
    static let button = LocalizedText("申请注销账号", "Close my account")
    static let doneTitle = LocalizedText("已申请注销", "Closing requested")
    static let eraseTitle = LocalizedText("注销并删除个人信息", "Close and erase")
    static let eraseLead = LocalizedText("立即注销这个账号：授权平台会收到撤回通知，全部个人信息和证件即刻删除，无法恢复。请写明原因（记入审计日志）。",
                                         "Closes this account now: its platforms are told the grants ended, and all its personal data and documents are deleted at once, for good. Give the reason (it goes into the audit log).")
    static let eraseReason = LocalizedText("原因", "Reason")
    static let erasedDone = LocalizedText("账号已注销，个人信息已删除。", "The account was closed and its personal data erased.")

    static func kept(_ lang: Lang) -> Node<HTML.BodyContext> {
        .group(.h2(.text(keptTitle(lang))), .ul(.forEach(DeletionService.kept) { .li(.text($0.text(lang))) }))
    }

    static func form(csrf: String, error: String?, lang: Lang) -> HTML {
        let main: [Node<HTML.BodyContext>] = [
            .h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang))), kept(lang),
            Forms.form(action: "/account/delete", csrf: csrf, [
                Forms.field(.init(name: "password", label: password, type: "password", autocomplete: "current-password", required: true),
                            error: error, lang: lang),
                Forms.element("button", [("type", "submit"), ("class", "danger")], [.text(button(lang))]),
            ]),
            .p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))),
        ]
        return Layout.page(title: title, lang: lang, path: "/account/delete", signedIn: true, main: .group(main))
    }

    static func done(due: Date, lang: Lang) -> HTML {
        let main: [Node<HTML.BodyContext>] = [
            .h1(.text(doneTitle(lang))),
            .p(.class("lead"), .id("deletion-due"), .text(LocalizedText(
                "您的账号将于 \(ChinaTime.day(due)) 注销，全部个人信息随之删除。在此之前登录即可取消。",
                "Your account will be closed on \(ChinaTime.day(due)) and all your personal data deleted. Signing in before then cancels it.")(lang))),
            kept(lang),
        ]
        return Layout.page(title: doneTitle, lang: lang, path: "/account/delete", signedIn: false, main: .group(main))
    }
}

/// `/account/delete`: the pages above, on `DeletionService`.
struct WebDeletionController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "account", "delete", access: .holder, use: show)
        routes.page(.POST, "account", "delete", access: .holder, use: submit)
        routes.grouped("staff").page(.POST, "accounts", ":id", "erase", access: .staff(AccessPolicy.administer), use: erase)
    }

    /// An administrator erases an account from its page on the staff desk.
    @Sendable func erase(_ req: Request) async throws -> Response {
        let staff = try req.caller.account
        let id = try req.uuidParameter()
        let pages = WebExceptionsController(features: features)
        return try await PageAction.run {
            // The field is `eraseReason` on the page, beside the freeze form's `reason`.
            try await features.deletion.erase(id, staff: staff, reason: try? req.content.get(String.self, at: "eraseReason"), ip: req.clientIP)
            return try await pages.accountPage(req, id, notice: DeletionPages.erasedDone(req.lang), kind: "ok", status: .ok)
        } refused: { error in
            let errors = Dictionary(uniqueKeysWithValues: error.fields.map { ($0.key == "reason" ? "eraseReason" : $0.key, $0.value) })
            return try await pages.accountPage(req, id, notice: error.message(req.lang), kind: "error", status: error.kind.status, errors: errors)
        }
    }

    @Sendable func show(_ req: Request) async throws -> Response {
        _ = try req.caller
        return WebController.html(DeletionPages.form(csrf: PageCSRF.token(for: req).0, error: nil, lang: req.lang).render())
    }

    @Sendable func submit(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        let password = try? req.content.get(String.self, at: "password")
        return try await PageAction.run {
            let due = try await features.deletion.request(account, password: password, ip: req.clientIP)
            let response = WebController.html(DeletionPages.done(due: due, lang: req.lang).render())
            response.cookies[SessionAuthenticator.cookieName] = .cleared
            return response
        } refused: { error in
            let message = error.fields["password"].map { Forms.message(for: $0, lang: req.lang) } ?? error.message(req.lang)
            return WebController.html(DeletionPages.form(csrf: PageCSRF.token(for: req).0, error: message, lang: req.lang).render(), status: error.kind.status)
        }
    }
}
