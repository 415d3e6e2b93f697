import Plot
import ShimingCore

/// The consent texts shipped with Shiming, written to `<data dir>/consents/` on the first start
/// (the deployment then owns them: edit the words, raise the version). They describe what this
/// software does, no more.
enum ConsentDefaults {
    static let version = "2026-01"

    struct Document {
        var title: LocalizedText
        var sections: [(LocalizedText, [LocalizedText])]
    }

    /// The default text of a kind as Markdown (`# title`, `## heading`, paragraphs).
    static func markdown(_ kind: ConsentKind, _ lang: Lang) -> String {
        let document = switch kind {
        case .terms: terms
        case .privacy: privacy
        case .sensitive: sensitive
        }
        var text = "# \(document.title(lang))\n"
        for (heading, paragraphs) in document.sections {
            text += "\n## \(heading(lang))\n"
            for paragraph in paragraphs { text += "\n\(paragraph(lang))\n" }
        }
        return text
    }

    static let terms = Document(title: LocalizedText("用户协议", "Terms of use"), sections: [
        (LocalizedText("这项服务做什么", "What this service does"), [
            LocalizedText("本服务替学校、学分银行、为老服务平台和网店确认用户是真实的人：您注册账号，填写身份信息、上传证件照片，系统自动核验，必要时由审核人员或班主任人工审核。",
                          "This service confirms for schools, credit banks, senior-services sites and shops that their users are real people: you register, give your identity details and document photos, the system checks them and, where needed, a reviewer or class teacher looks at them."),
        ]),
        (LocalizedText("您的承诺", "What you agree to"), [
            LocalizedText("只提交您本人（或您作为监护人代为办理的未成年人）的真实信息和证件；不冒用他人身份；不上传与认证无关的文件。",
                          "Submit only true details and documents of your own (or of the minor for whom you act as guardian); do not use anyone else's identity; do not upload files that have nothing to do with the verification."),
            LocalizedText("妥善保管密码和验证码，不要告诉任何人；工作人员不会向您索要密码或验证码。",
                          "Keep your password and codes to yourself; staff will never ask you for them."),
        ]),
        (LocalizedText("审核与申诉", "Reviews and appeals"), [
            LocalizedText("审核结果会通过短信或邮件告诉您，并在“我的实名认证”里说明原因。对不通过或冻结有异议的，可以在申请页面提出申诉，由另一位工作人员重新审核。",
                          "You are told the result by SMS or e-mail, and the reasons are on your application's page. If you disagree with a rejection or a freeze, appeal on that page; another staff member reviews it again."),
        ]),
        (LocalizedText("账号的限制", "Limits on accounts"), [
            LocalizedText("为防止冒用，连续输错密码或确认码会暂时锁定账号；发现异常时工作人员可以冻结账号，并告诉您原因和申诉方式。",
                          "To prevent misuse, repeated wrong passwords or codes lock the account for a while; staff may freeze an account when something is wrong, and tell you why and how to appeal."),
        ]),
    ])

    static let privacy = Document(title: LocalizedText("隐私政策", "Privacy policy"), sections: [
        (LocalizedText("我们处理哪些信息", "What we process"), [
            LocalizedText("账号信息（用户名、手机号、邮箱）；认证信息（姓名、证件类型和号码、性别、地址、学校班级、监护人、机构信息，视认证项目而定）；证件照片和证明材料；办理记录和登录记录。",
                          "Account details (username, phone, e-mail); verification details (name, document type and number, gender, address, school and class, guardian, organisation — depending on the program); document photos and proofs; the record of what was done and of sign-ins."),
        ]),
        (LocalizedText("为什么处理", "Why"), [
            LocalizedText("只为确认您的身份、通知您办理结果、处理申诉和防止冒用。不用于广告，不出售给任何人。",
                          "Only to confirm your identity, tell you the results, handle appeals and prevent misuse. Not for advertising; never sold."),
        ]),
        (LocalizedText("如何保护", "How it is protected"), [
            LocalizedText("身份信息和证件照片加密保存；页面上只显示部分内容；证件号码只以不可逆的方式用于查重。工作人员查看完整号码时必须写明用途，每一次查看都记入防篡改的日志。",
                          "Identity details and document photos are stored encrypted; pages show them only partly; document numbers are used for duplicate checks only in an irreversible form. Staff who look at a full number must state why, and every look is written to a tamper-evident log."),
        ]),
        (LocalizedText("谁能看到", "Who sees it"), [
            LocalizedText("负责审核的工作人员（学生认证由本班班主任）和平台管理员，仅在工作需要时；与您有利害关系的工作人员不能审核您的申请。",
                          "The staff who review (for students, the class teacher) and the administrators, only as their work needs; staff connected to you cannot review your application."),
        ]),
        (LocalizedText("保存多久", "How long"), [
            LocalizedText("认证信息保存到认证有效期结束、账号注销或法律要求的期限届满为止；办理记录为了可追溯而保存。",
                          "Verification details are kept until the verification runs out, the account is closed, or the period the law requires ends; the record of what was done is kept so that it can be traced."),
        ]),
        (LocalizedText("您的权利", "Your rights"), [
            LocalizedText("您可以在“我的账号”和“我的实名认证”查看自己提交的信息和办理记录，申请更正姓名、性别等信息；在“谁查看过我的信息”看到每一次查看；下载您的全部数据；查看和撤回您的同意。对处理有疑问，可以通过每页下方的“意见反馈”联系我们。",
                          "Under “My account” and “My verifications” you can read what you submitted and the record of your applications, and ask to correct your name, gender and similar details; see every look at your data under “Who looked at my data”; download all your data; and see and withdraw your consents. For any question about how your data is handled, write to us through “Feedback” at the bottom of every page."),
        ]),
    ])

    static let sensitive = Document(title: LocalizedText("敏感个人信息处理同意书", "Consent to the processing of sensitive personal information"), sections: [
        (LocalizedText("为什么单独征求您的同意", "Why we ask separately"), [
            LocalizedText("身份证件号码、证件照片和不满十四周岁未成年人的信息属于敏感个人信息。依照《个人信息保护法》第二十九条、第三十一条，处理前需要取得您单独的同意；未成年人的信息需要取得其监护人的同意。",
                          "Identity numbers, document photos and the data of children under 14 are sensitive personal information. Under articles 29 and 31 of the Personal Information Protection Law they may be processed only with your separate consent, and a child's only with a guardian's."),
        ]),
        (LocalizedText("处理哪些信息、做什么用", "What is processed, and for what"), [
            LocalizedText("您在实名申请中填写的姓名、证件类型和号码、出生日期，以及您上传的证件照片和证明材料。只用于确认您的身份：与学校名册或第三方身份核验服务比对、由审核人员人工核对、防止同一证件被他人冒用。",
                          "The name, document type and number and date of birth you give in an application, and the document photos and proofs you upload. Used only to confirm your identity: compared with the school roll or a third-party identity service, checked by a reviewer, and used to stop one document being used by someone else."),
        ]),
        (LocalizedText("对您的影响", "What it means for you"), [
            LocalizedText("这些信息加密保存，页面上只显示部分内容；工作人员查看完整信息必须写明用途，每一次查看都会记录，您可以在“谁查看过我的信息”中看到。",
                          "This data is stored encrypted and shown only partly on screens; staff who look at a full value must state why, every look is recorded, and you can see it under “Who looked at my data”."),
        ]),
        (LocalizedText("撤回同意", "Withdrawing your consent"), [
            LocalizedText("您可以随时在“我的账号 → 我的同意”中撤回。撤回后，您尚未办结的申请会停止处理（状态为“已撤回”），也不能再提交新的申请，直到您重新同意；已经完成的认证不受影响。撤回不影响撤回前已经进行的处理。",
                          "You may withdraw it at any time under “My account → My consents”. Your applications that are not finished then stop (their state becomes “Withdrawn”) and you cannot start a new one until you consent again; finished verifications are not affected. Withdrawing does not affect what was done before."),
        ]),
    ])
}
