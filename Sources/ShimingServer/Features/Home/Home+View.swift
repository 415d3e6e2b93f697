import Plot
import ShimingCore

extension Home {
    /// The landing page: what this deployment offers and how to start.
    static func view(_ model: Model) -> HTML {
        let lang = model.lang
        return Layout.page(title: Text.title, lang: lang, path: "/", signedIn: model.signedIn, main: .group(
            .h1(.text(Text.headline(lang))),
            .p(.class("lead"), .text(Text.lead(lang))),
            .div(
                .class("actions"),
                .a(.class("button primary"), .href("/signin"), .text(WebText.signIn(lang))),
                .a(.class("button"), .href("/register"), .text(WebText.register(lang))),
                .a(.class("button"), .href("/programs"), .text(ProgramPages.title(lang)))
            ),
            .h2(.text(Text.stepsTitle(lang))),
            .ol(.forEach(Text.steps) { .li(.text($0(lang))) }),
            .section(
                .class("card"),
                .h2(.text(Text.privacyTitle(lang))),
                .ul(.class("plain"), .forEach(Text.privacy) { .li(.text($0(lang))) })
            ),
            .h2(.text(Text.platformsTitle(lang))),
            .p(
                .text(Text.platforms(lang)),
                .text(" "),
                .a(.href("/openapi.json"), .text(Text.apiLink(lang)))
            )
        ))
    }

    enum Text {
        static let title = LocalizedText("首页", "Home")
        static let headline = LocalizedText("实名认证，一次办好", "Real-name verification, done once and done right")
        static let lead = LocalizedText(
            "学校、学分银行、为老服务平台和网店通过本服务确认用户是真实的人。您在这里注册、提交身份信息和证件照片，查看审核进度；需要时可以申诉。",
            "Schools, credit banks, senior-services sites and shops use this service to know their users are real people. Here you register, submit your identity details and document photos, follow the review, and appeal if you need to."
        )
        static let stepsTitle = LocalizedText("怎么办理", "How it works")
        static let steps: [LocalizedText] = [
            LocalizedText("注册账号，用短信或邮件验证码确认手机号或邮箱。", "Register and confirm your phone or e-mail with a one-time code."),
            LocalizedText("填写姓名和证件号码，上传证件照片。", "Enter your name and document number and upload photos of the document."),
            LocalizedText("系统自动核验；有疑问时由审核人员或班主任人工审核。", "Automatic checks run at once; where they cannot decide, a reviewer or the class teacher looks at it."),
            LocalizedText("通过后输入确认码完成认证，结果会通过短信或邮件通知您。", "Once approved, confirm with a code; you are told the result by SMS or e-mail."),
        ]
        static let privacyTitle = LocalizedText("您的信息如何受保护", "How your data is protected")
        static let privacy: [LocalizedText] = [
            LocalizedText("身份信息和证件照片加密保存。", "Identity data and document photos are stored encrypted."),
            LocalizedText("页面只显示部分号码，例如 110101********123X。", "Pages show numbers only partly, such as 110101********123X."),
            LocalizedText("每一次审核和查看都记录在防篡改的日志中。", "Every review and every look at your data is written to a tamper-evident log."),
            LocalizedText("您可以在“我的账号”查看自己提交的信息和办理记录，并申请更正。", "Under “My account” you can read what you submitted and the record of your applications, and ask for corrections."),
        ]
        static let platformsTitle = LocalizedText("接入平台", "For platforms")
        static let platforms = LocalizedText(
            "平台和手机应用通过 JSON 接口接入，接口说明为 OpenAPI 文档：",
            "Platforms and mobile apps integrate through a JSON API described by an OpenAPI document:"
        )
        static let apiLink = LocalizedText("接口文档", "API description")
    }
}
