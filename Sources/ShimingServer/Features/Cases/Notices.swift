import Foundation
import IdentityRules
import ShimingCore

/// The texts of the messages about cases.
enum Notices {
    static func returned(program: Program, lang: Lang) -> String {
        LocalizedText("您的「\(program.title.zh)」申请需要修改，请登录查看原因并重新提交。",
                      "Your \(program.title.en) application needs corrections; sign in to see why and submit again.")(lang)
    }

    static func confirmation(code: String, minutes: Int, lang: Lang) -> String {
        LocalizedText("您的实名认证已审核通过。确认码 \(code)，请在 \(minutes) 分钟内登录“我的实名认证”输入，即可完成认证。",
                      "Your verification was approved. Confirmation code \(code): sign in and enter it under “My verifications” within \(minutes) minutes to finish.")(lang)
    }

    static func verified(program: Program, code: String?, lang: Lang) -> String {
        let suffix = code.map { LocalizedText("您的身份识别码：\(IdentityCode.format($0))。", " Your identity code: \(IdentityCode.format($0)).")(lang) } ?? ""
        return LocalizedText("「\(program.title.zh)」认证成功，相关功能已开通。", "\(program.title.en): you are verified and all functions are open.")(lang) + suffix
    }

    static func locked(lang: Lang) -> String {
        LocalizedText("确认码未在规定时间内正确输入，为保护您的信息，账号已锁定。请联系客服解锁。",
                      "The confirmation code was not entered correctly in time; your account is locked to protect your data. Contact support to unlock it.")(lang)
    }

    static func renewalDue(program: Program, on date: Date, lang: Lang) -> String {
        let day = ChinaTime.day(date)
        return LocalizedText("您的「\(program.title.zh)」认证将于 \(day) 到期，请在此之前登录更新信息并重新认证，以免相关功能暂停。",
                             "Your \(program.title.en) verification runs out on \(day); sign in before then to update your details and renew it, so that nothing is paused.")(lang)
    }

    static func expired(program: Program, lang: Lang) -> String {
        LocalizedText("您的「\(program.title.zh)」认证已到复核时间，请登录更新信息并重新确认。",
                      "Your \(program.title.en) verification is due for renewal; sign in to update your details and confirm again.")(lang)
    }

    static func guardianConsent(code: String, minutes: Int, lang: Lang) -> String {
        LocalizedText("您的孩子正在申请实名认证，需要您作为监护人同意处理其姓名、身份证号等个人信息。同意请将验证码 \(code) 告知孩子并在页面输入，\(minutes) 分钟内有效。",
                      "Your child is applying for identity verification, which needs your consent as guardian to process their name, ID number and other personal data. To consent, have code \(code) entered on the page within \(minutes) minutes.")(lang)
    }

    static func deletionSubject(_ lang: Lang) -> String {
        LocalizedText("注销账号", "Closing your account")(lang)
    }

    static func deletionRequested(on due: Date, lang: Lang) -> String {
        LocalizedText("您申请了注销实名账号。\(ChinaTime.day(due)) 起将删除您的全部个人信息和证件；在此之前登录即可取消。不是您本人操作的，请立即登录并修改密码。",
                      "You asked to close your account. From \(ChinaTime.day(due)) all your personal data and documents will be deleted; signing in before then cancels it. If this was not you, sign in now and change your password.")(lang)
    }

    static func deletionCancelled(_ lang: Lang) -> String {
        LocalizedText("您已登录，注销账号的申请已取消，您的信息不会被删除。", "You signed in, so closing your account was cancelled; your data stays.")(lang)
    }
}
