import Foundation
import Plot
import ShimingCore
import Vapor

/// Form building blocks for pages: labelled fields with their error next to them, and CSRF
/// tokens. Attribute values are escaped here (Plot escapes text nodes, not attribute values,
/// and forms echo user input back into `value="…"`).
enum Forms {
    /// `&`, `<`, `>`, `"` and `'` made safe inside a double-quoted attribute.
    static func escapeAttribute(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            default: out.append(character)
            }
        }
        return out
    }

    /// An element with escaped attributes and child nodes.
    static func element(_ name: String, _ attributes: [(String, String)], _ children: [Node<HTML.BodyContext>] = []) -> Node<HTML.BodyContext> {
        .element(named: name, nodes: attributes.map {
            .attribute(named: $0.0, value: escapeAttribute($0.1), ignoreIfValueIsEmpty: !keepsEmpty($0.0))
        } + children)
    }

    /// A void element (`<input>`) with escaped attributes.
    static func void(_ name: String, _ attributes: [(String, String)]) -> Node<HTML.BodyContext> {
        .selfClosedElement(named: name, attributes: attributes.map {
            Attribute(name: $0.0, value: escapeAttribute($0.1), ignoreIfValueIsEmpty: !keepsEmpty($0.0))
        })
    }

    /// Plot leaves out attributes whose value is empty; an empty `value` must stay (a bare
    /// `value` is the empty string), or a browser submits an option's text as its value.
    private static func keepsEmpty(_ attribute: String) -> Bool { attribute == "value" }

    /// One labelled input with its hint and its error (linked by `aria-describedby`).
    struct Field {
        var name: String
        var label: LocalizedText
        var type = "text"
        var value = ""
        var autocomplete: String?
        var inputMode: String?
        var hint: LocalizedText?
        var required = false
    }

    static func field(_ field: Field, error: String?, lang: Lang) -> Node<HTML.BodyContext> {
        let id = "field-\(field.name)"
        var attributes: [(String, String)] = [("type", field.type), ("id", id), ("name", field.name)]
        if field.type != "password" { attributes.append(("value", field.value)) }
        if let autocomplete = field.autocomplete { attributes.append(("autocomplete", autocomplete)) }
        if let inputMode = field.inputMode { attributes.append(("inputmode", inputMode)) }
        if field.required { attributes.append(("required", "required")) }
        var described: [String] = []
        if field.hint != nil { described.append("\(id)-hint") }
        if error != nil { described.append("\(id)-error"); attributes.append(("aria-invalid", "true")) }
        if !described.isEmpty { attributes.append(("aria-describedby", described.joined(separator: " "))) }
        return labelled(id: id, label: field.label(lang), hint: field.hint?(lang), error: error, control: void("input", attributes))
    }

    /// A form control with its label, hint and error above it (the error linked by id).
    static func labelled(id: String, label: String, hint: String? = nil, error: String?, control: Node<HTML.BodyContext>) -> Node<HTML.BodyContext> {
        var children: [Node<HTML.BodyContext>] = [element("label", [("for", id)], [.text(label)])]
        if let hint { children.append(element("p", [("class", "hint"), ("id", "\(id)-hint")], [.text(hint)])) }
        if let error { children.append(element("p", [("class", "field-error"), ("id", "\(id)-error")], [.text(error)])) }
        children.append(control)
        return element("div", [("class", error == nil ? "field" : "field has-error")], children)
    }

    /// A POST form with its CSRF token.
    static func form(action: String, csrf: String, _ children: [Node<HTML.BodyContext>]) -> Node<HTML.BodyContext> {
        element("form", [("method", "post"), ("action", action), ("novalidate", "novalidate")],
                [void("input", [("type", "hidden"), ("name", "_csrf"), ("value", csrf)])] + children)
    }

    static func submit(_ label: LocalizedText, lang: Lang, primary: Bool = true) -> Node<HTML.BodyContext> {
        element("button", [("type", "submit"), ("class", primary ? "primary" : "")], [.text(label(lang))])
    }

    /// A notice box (success or error) at the top of a form.
    static func notice(_ text: String, kind: String) -> Node<HTML.BodyContext> {
        element("div", [("class", "notice \(kind)"), ("role", kind == "error" ? "alert" : "status")], [.text(text)])
    }

    /// The text for a field error code, in the page's language.
    static func message(for code: String, lang: Lang) -> String {
        let texts: [String: LocalizedText] = [
            "required": LocalizedText("请填写此项。", "Please fill this in."),
            "invalid_length": LocalizedText("位数不对，请检查。", "The length is not right; please check."),
            "invalid_format": LocalizedText("格式不正确，请检查。", "The format is not right; please check."),
            "invalid_component": LocalizedText("号码段不存在，请检查。", "This number range does not exist; please check."),
            "taken": LocalizedText("已被注册。如果是您本人，请直接登录或找回密码。", "Already registered. If it is yours, sign in or reset the password."),
            "invalid": LocalizedText("验证码不正确。", "The code is not correct."),
            "expired": LocalizedText("验证码已失效，请重新获取。", "The code has expired; request a new one."),
            "wrong_current_password": LocalizedText("当前密码不正确。", "The current password is not correct."),
            "same_as_current": LocalizedText("新密码不能与当前密码相同。", "The new password must differ from the current one."),
            "rate_limited": LocalizedText("请稍后再试。", "Please try again a little later."),
            "invalid_value": LocalizedText("请从列表中选择。", "Please choose from the list."),
            "unchanged": LocalizedText("与现在的内容相同。", "This is the same as now."),
            "change_request_open": LocalizedText("这一项已有待审核的申请。", "This item already has a request waiting for a decision."),
            "too_many_files": LocalizedText("材料数量已达上限。", "No more files can be added."),
            "not_present": LocalizedText("该申请没有这一项。", "This application has no such value."),
        ]
        if let problem = PasswordProblem(rawValue: code) { return problem.message(lang) }
        if let problem = FileProblem(rawValue: code) { return problem.message(lang) }
        return texts[code]?(lang) ?? LocalizedText("请检查此项。", "Please check this field.")(lang)
    }
}

/// CSRF protection for pages. Before sign-in, a double-submit cookie; after sign-in, the
/// session's own token (checked by `SessionAuthenticator`).
enum PageCSRF {
    static let cookie = "shiming_csrf"

    /// The token to put in this page's forms, and the cookie to set if a new one was made.
    static func token(for req: Request) -> (String, HTTPCookies.Value?) {
        if let session = req.authenticated, session.viaCookie, let token = session.session.csrfToken { return (token, nil) }
        if let existing = req.cookies[cookie]?.string, existing.count >= 32 { return (existing, nil) }
        let fresh = OpaqueToken.make(req.shiming.services.random)
        return (fresh, HTTPCookies.Value(string: fresh, maxAge: 12 * 3600, path: "/", isSecure: req.isSecure, isHTTPOnly: true, sameSite: .lax))
    }

    /// Checks a form posted before sign-in.
    static func verify(_ req: Request) throws {
        if req.authenticated?.viaCookie == true { return }  // checked by SessionAuthenticator
        let sent = try? req.content.get(String.self, at: "_csrf")
        guard let expected = req.cookies[cookie]?.string, let sent, SecretHasher.equal(sent, expected) else {
            throw UserFacingError(code: "csrf_failed", kind: .forbidden,
                                  message: LocalizedText("页面已过期，请刷新后重试。", "The page has expired; reload it and try again."))
        }
    }
}

extension Request {
    /// Whether the client reached us over TLS (directly or through a proxy that says so).
    var isSecure: Bool {
        (fromTrustedProxy && headers.first(name: "X-Forwarded-Proto")?.lowercased() == "https")
            || application.shiming.configuration.publicURL.hasPrefix("https://")
    }
}
