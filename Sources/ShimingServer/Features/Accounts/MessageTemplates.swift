import Foundation
import ShimingCore

/// The texts of every SMS and e-mail, in both languages. The recipient's language decides.
enum MessageTemplates {
    static let brand = LocalizedText("【实名认证】", "[Shiming] ")

    static func contactCode(_ code: String, lang: Lang, minutes: Int) -> String {
        brand(lang) + LocalizedText(
            "您的验证码是 \(code)，\(minutes) 分钟内有效。如非本人操作，请忽略本消息。",
            "Your code is \(code), valid for \(minutes) minutes. If you did not ask for it, ignore this message."
        )(lang)
    }

    static func guardianCode(_ code: String, lang: Lang, minutes: Int) -> String {
        brand(lang) + LocalizedText(
            "您的孩子正在用本手机号注册学生账号。验证码 \(code)，\(minutes) 分钟内有效。输入即表示您作为监护人同意其注册并按隐私政策处理其个人信息。",
            "Your child is registering a student account with this phone number. Code \(code), valid for \(minutes) minutes. Entering it means that you, as guardian, agree to the registration and to the processing of the child's personal data under the privacy policy."
        )(lang)
    }

    static func signInCode(_ code: String, lang: Lang, minutes: Int) -> String {
        brand(lang) + LocalizedText(
            "您的登录验证码是 \(code)，\(minutes) 分钟内有效。请勿把验证码告诉任何人。",
            "Your sign-in code is \(code), valid for \(minutes) minutes. Do not tell it to anyone."
        )(lang)
    }

    static func resetCode(_ code: String, lang: Lang, minutes: Int) -> String {
        brand(lang) + LocalizedText(
            "您正在重置密码，验证码 \(code)，\(minutes) 分钟内有效。如非本人操作，请立即修改密码。",
            "You are resetting your password. Code \(code), valid for \(minutes) minutes. If this was not you, change your password now."
        )(lang)
    }

    static func activationSubject(_ lang: Lang) -> String {
        LocalizedText("请确认您的邮箱", "Please confirm your e-mail address")(lang)
    }

    static func activationText(code: String, link: String, lang: Lang) -> String {
        LocalizedText(
            "您好！\n\n请点击下面的链接激活账号（24 小时内有效）：\n\(link)\n\n也可以在页面上输入验证码：\(code)（5 分钟内有效）。\n\n如非本人操作，请忽略本邮件。",
            "Hello,\n\nPlease follow this link to activate your account (valid for 24 hours):\n\(link)\n\nOr enter this code on the page: \(code) (valid for 5 minutes).\n\nIf you did not register, ignore this e-mail."
        )(lang)
    }

    static func activationHTML(code: String, link: String, lang: Lang) -> String {
        let escapedLink = link.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
        return LocalizedText(
            "<p>您好！</p><p><a href=\"\(escapedLink)\">点击这里激活账号</a>（24 小时内有效）。</p><p>也可以在页面上输入验证码：<strong>\(code)</strong>（5 分钟内有效）。</p><p>如非本人操作，请忽略本邮件。</p>",
            "<p>Hello,</p><p><a href=\"\(escapedLink)\">Activate your account</a> (valid for 24 hours).</p><p>Or enter this code on the page: <strong>\(code)</strong> (valid for 5 minutes).</p><p>If you did not register, ignore this e-mail.</p>"
        )(lang)
    }

    static func emailCodeSubject(_ lang: Lang) -> String {
        LocalizedText("您的验证码", "Your code")(lang)
    }
}
