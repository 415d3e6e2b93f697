import Foundation
import Plot
import ShimingCore

/// The staff desk's platform pages (admins): the registered platforms and a form for a new one;
/// one platform with its keys (last use, revoke, a new key), its webhook secret (rotate) and
/// its delivery log (redeliver). Keys and secrets are shown once, on the page that made them.
enum PlatformPages {
    static let title = LocalizedText("接入平台", "Relying platforms")
    static let lead = LocalizedText("向实名平台查询用户核验结果的外部平台。每个平台用自己的 API 密钥调用，只能看到用户授权的内容。",
                                    "Outside platforms that ask Shiming about their users. Each calls with its own API key and sees only what the user granted.")
    static let register = LocalizedText("登记新平台", "Register a platform")
    static let name = LocalizedText("平台名称", "Name")
    static let purpose = LocalizedText("用途（授权页上向用户说明）", "Purpose (shown to people on the consent screen)")
    static let redirects = LocalizedText("返回地址（每行一个）", "Return URLs (one per line)")
    static let webhook = LocalizedText("Webhook 地址（可不填）", "Webhook URL (optional)")
    static let programsLabel = LocalizedText("认可的认证项目", "Programs accepted")
    static let claimsLabel = LocalizedText("可以申请的信息", "Claims it may ask for")
    static let save = LocalizedText("保存", "Save")
    static let keysLabel = LocalizedText("API 密钥", "API keys")
    static let newKey = LocalizedText("新建密钥", "New key")
    static let revoke = LocalizedText("吊销", "Revoke")
    static let lastUsed = LocalizedText("最近使用", "Last used")
    static let revoked = LocalizedText("已吊销", "Revoked")
    static let never = LocalizedText("未使用", "Never")
    static let rotate = LocalizedText("更换 Webhook 密钥", "Rotate webhook secret")
    static let deliveriesLabel = LocalizedText("Webhook 发送记录", "Webhook deliveries")
    static let redeliver = LocalizedText("重新发送", "Send again")
    static let event = LocalizedText("事件", "Event")
    static let shownOnce = LocalizedText("请立即复制并妥善保存，离开此页后将不再显示：", "Copy and keep it now; it is not shown again after you leave this page:")
    static let created = LocalizedText("创建时间", "Created")
    static let saved = LocalizedText("已保存。", "Saved.")

    struct Shown {
        var label: String
        var value: String
    }

    static func list(_ platforms: [Platform], programs: [Program], csrf: String, lang: Lang, values: [String: String] = [:],
                     checked: Set<String> = [], errors: [String: String] = [:], notice: String? = nil) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.p(.class("lead"), .text(lead(lang)))]
        if let notice { main.append(Forms.notice(notice, kind: errors.isEmpty ? "ok" : "error")) }
        if platforms.isEmpty {
            main.append(.p(.text(StaffText.none(lang))))
        } else {
            main.append(StaffPages.table([name(lang), programsLabel(lang), claimsLabel(lang), created(lang)], platforms.map { platform in [
                Forms.element("a", [("href", "/staff/platforms/\(platform.id.lowercasedText)")], [.text(platform.name)]),
                .text(platform.programs.joined(separator: ", ")), .text(platform.claims.map(\.rawValue).joined(separator: ", ")),
                .text(StaffPages.time(platform.createdAt)),
            ] }))
        }
        main.append(.h2(.text(register(lang))))
        main.append(form(action: "/staff/platforms", programs: programs, csrf: csrf, lang: lang, values: values, checked: checked, errors: errors))
        return StaffPages.frame(title, lang: lang, path: "/staff/platforms", main)
    }

    static func form(action: String, programs: [Program], csrf: String, lang: Lang, values: [String: String], checked: Set<String>,
                     errors: [String: String]) -> Node<HTML.BodyContext> {
        let error = { (field: String) in
            errors.first { $0.key == field || $0.key.hasPrefix(field + "[") }.map { Forms.message(for: $0.value, lang: lang) }
        }
        func boxes(_ group: String, _ legend: LocalizedText, _ options: [(String, String)]) -> Node<HTML.BodyContext> {
            var children: [Node<HTML.BodyContext>] = [Forms.element("legend", [], [.text(legend(lang))])]
            if let problem = error(group) { children.append(Forms.element("p", [("class", "field-error")], [.text(problem)])) }
            children += options.map { value, text in
                var attributes: [(String, String)] = [("type", "checkbox"), ("id", "\(group)-\(value)"), ("name", "\(group)[]"), ("value", value)]
                if checked.contains("\(group):\(value)") { attributes.append(("checked", "checked")) }
                return Forms.element("div", [("class", "field check")], [
                    Forms.element("label", [("for", "\(group)-\(value)")], [Forms.void("input", attributes), .text(text)]),
                ])
            }
            return Forms.element("fieldset", [], children)
        }
        return Forms.form(action: action, csrf: csrf, [
            Forms.field(.init(name: "name", label: name, value: values["name"] ?? "", autocomplete: "off", required: true), error: error("name"), lang: lang),
            Forms.field(.init(name: "purpose", label: purpose, value: values["purpose"] ?? ""), error: error("purpose"), lang: lang),
            ChangeRequestPages.textarea(name: "redirectUris", label: redirects, value: values["redirectUris"] ?? "", error: error("redirectUris"), lang: lang),
            Forms.field(.init(name: "webhookUrl", label: webhook, type: "url", value: values["webhookUrl"] ?? ""), error: error("webhookUrl"), lang: lang),
            boxes("programs", programsLabel, programs.map { ($0.key, $0.title(lang)) }),
            boxes("claims", claimsLabel, PlatformClaim.allCases.filter { $0 != .verified }.map { ($0.rawValue, $0.label(lang)) }),
            Forms.submit(save, lang: lang),
        ])
    }

    static func detail(_ platform: Platform, keys: [PlatformKey], deliveries: [OutboxEntry], programs: [Program], csrf: String, lang: Lang,
                       shown: [Shown] = [], errors: [String: String] = [:], notice: String? = nil) -> HTML {
        let id = platform.id.lowercasedText, base = "/staff/platforms/\(id)"
        var main: [Node<HTML.BodyContext>] = []
        if let notice { main.append(Forms.notice(notice, kind: errors.isEmpty ? "ok" : "error")) }
        for secret in shown {
            main.append(Forms.element("div", [("class", "notice ok"), ("role", "status")], [
                .p(.strong(.text(secret.label)), .text(" " + shownOnce(lang))),
                Forms.element("p", [("class", "secret"), ("data-secret", secret.label)], [Forms.element("code", [], [.text(secret.value)])]),
            ]))
        }
        main.append(.h2(.text(keysLabel(lang))))
        main.append(StaffPages.table(["", created(lang), lastUsed(lang), StaffText.state(lang), ""], keys.map { key in [
            Forms.element("code", [], [.text(key.prefix + "…")]), .text(StaffPages.time(key.createdAt)),
            .text(key.lastUsedAt.map(StaffPages.time) ?? never(lang)),
            .text(key.revokedAt.map { revoked(lang) + " " + StaffPages.time($0) } ?? "—"),
            key.revokedAt == nil ? Forms.form(action: "\(base)/keys/\(key.id.lowercasedText)/revoke", csrf: csrf,
                                              [Forms.submit(revoke, lang: lang, primary: false)]) : .text(""),
        ] }))
        main.append(Forms.form(action: "\(base)/keys", csrf: csrf, [Forms.submit(newKey, lang: lang, primary: false)]))
        main.append(Forms.form(action: "\(base)/webhook-secret", csrf: csrf, [Forms.submit(rotate, lang: lang, primary: false)]))
        main.append(.h2(.text(deliveriesLabel(lang))))
        if deliveries.isEmpty { main.append(.p(.text(StaffText.none(lang)))) }
        if !deliveries.isEmpty {
            main.append(StaffPages.table([event(lang), StaffText.state(lang), StaffText.attempts(lang), StaffText.lastError(lang), created(lang), ""],
                                         deliveries.map { entry in [
                .text(entry.template), .text(entry.status.rawValue), .text("\(entry.attempts)"), .text(entry.lastError ?? "—"),
                .text(StaffPages.time(entry.createdAt)),
                entry.status == .sending ? .text("") : Forms.form(action: "\(base)/deliveries/\(entry.id.lowercasedText)/redeliver", csrf: csrf,
                                                                   [Forms.submit(redeliver, lang: lang, primary: false)]),
            ] }))
        }
        main.append(.h2(.text(save(lang))))
        let values = ["name": platform.name, "purpose": platform.purpose, "redirectUris": platform.redirectURIs.joined(separator: "\n"),
                      "webhookUrl": platform.webhookURL ?? ""]
        let checked = Set(platform.programs.map { "programs:\($0)" } + platform.claims.map { "claims:\($0.rawValue)" })
        main.append(form(action: base, programs: programs, csrf: csrf, lang: lang, values: values, checked: checked, errors: errors))
        return StaffPages.frame(LocalizedText(platform.name, platform.name), lang: lang, path: base, main)
    }
}
