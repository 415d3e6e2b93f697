import Foundation
import ShimingCore

/// The errors of registration, codes and sign-in, with their codes and texts.
enum AccountError {
    static func invalid(_ fields: [String: String]) -> UserFacingError {
        UserFacingError(
            code: "invalid_input", kind: .invalidInput,
            message: LocalizedText("请检查标出的项目。", "Please check the marked fields."),
            fields: fields
        )
    }

    static func taken(_ field: String) -> UserFacingError {
        UserFacingError(
            code: "already_registered", kind: .conflict,
            message: LocalizedText("该\(fieldName(field).zh)已被注册。", "This \(fieldName(field).en) is already registered."),
            fields: [field: "taken"]
        )
    }

    static let invalidCode = UserFacingError(
        code: "invalid_code", kind: .invalidInput,
        message: LocalizedText("验证码不正确。", "The code is not correct."), fields: ["code": "invalid"]
    )
    static let codeExpired = UserFacingError(
        code: "code_expired", kind: .invalidInput,
        message: LocalizedText("验证码已失效，请重新获取。", "The code has expired or was used up; request a new one."),
        fields: ["code": "expired"]
    )
    static let invalidCredentials = UserFacingError(
        code: "invalid_credentials", kind: .unauthenticated,
        message: LocalizedText("账号或密码不正确。", "The account or password is not correct.")
    )
    static let loginAmbiguous = UserFacingError(
        code: "login_ambiguous", kind: .invalidInput,
        message: LocalizedText("这个手机号是几位学生共用的监护人手机号，请用注册时设置的用户名登录。",
                               "Several students registered with this guardian phone; sign in with your username."),
        fields: ["login": "ambiguous"]
    )
    static let invalidSignInCode = UserFacingError(
        code: "invalid_credentials", kind: .unauthenticated,
        message: LocalizedText("手机号或验证码不正确，或验证码已失效。", "The phone number or code is not correct, or the code has expired.")
    )
    static let invalidToken = UserFacingError(
        code: "invalid_token", kind: .invalidInput,
        message: LocalizedText("链接无效或已过期。", "The link is invalid or has expired."), fields: ["token": "invalid"]
    )

    static func rateLimited(seconds: Int) -> UserFacingError {
        UserFacingError(
            code: "rate_limited", kind: .rateLimited(retryAfterSeconds: max(1, seconds)),
            message: LocalizedText("操作过于频繁，请 \(max(1, seconds)) 秒后再试。", "Too many requests; try again in \(max(1, seconds)) seconds.")
        )
    }

    static func signInLocked(until: String, seconds: Int) -> UserFacingError {
        UserFacingError(
            code: "sign_in_locked", kind: .rateLimited(retryAfterSeconds: max(1, seconds)),
            message: LocalizedText("登录失败次数过多，已暂时锁定，请于 \(until) 后再试。",
                                   "Too many failed sign-ins; sign-in is locked until \(until).")
        )
    }

    static func accountState(_ status: AccountStatus, reason: String?) -> UserFacingError {
        switch status {
        case .frozen:
            return UserFacingError(
                code: "account_frozen", kind: .forbidden,
                message: LocalizedText("账号已被冻结\(reason.map { "：\(Self.sentence($0))" } ?? "")。如有异议可以申诉。",
                                       "The account is frozen\(reason.map { ": \(Self.sentence($0))" } ?? ""). You may appeal.")
            )
        case .locked:
            return UserFacingError(
                code: "account_locked", kind: .forbidden,
                message: LocalizedText("账号已锁定以保护您的数据，请重置密码或联系管理员。",
                                       "The account is locked to protect your data; reset your password or contact an administrator.")
            )
        case .closed:
            return UserFacingError(
                code: "account_closed", kind: .forbidden,
                message: LocalizedText("账号已注销。", "The account is closed.")
            )
        case .pendingActivation:
            return UserFacingError(
                code: "account_unconfirmed", kind: .forbidden,
                message: LocalizedText("请先输入发到您手机或邮箱的确认码，确认后才能继续。",
                                       "Confirm your phone or e-mail first with the code we sent; then you can go on.")
            )
        case .active:
            return UserFacingError(code: "forbidden", kind: .forbidden, message: LocalizedText("无权操作。", "Not allowed."))
        }
    }

    /// Staff's words inside a sentence of ours: without their closing stop, so none is doubled.
    static func sentence(_ text: String) -> String {
        var trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while let last = trimmed.last, "。.！!；;，,".contains(last) { trimmed.removeLast() }
        return trimmed
    }

    static func fieldName(_ field: String) -> LocalizedText {
        switch field {
        case "username": LocalizedText("用户名", "username")
        case "phone": LocalizedText("手机号", "phone number")
        case "email": LocalizedText("邮箱", "e-mail address")
        default: LocalizedText(field, field)
        }
    }
}
