import Foundation
import IdentityRules
import Plot
import ShimingCore

/// The applicant's verification pages: the list of applications, the step-by-step form
/// (identity → details → documents → check and submit) and the status page with the timeline.
/// Large type and one thing per step, for elderly users too.
enum CasePages {
    enum Step: String, CaseIterable {
        case identity
        case details
        case documents
        case review

        var label: LocalizedText {
            switch self {
            case .identity: LocalizedText("身份信息", "Identity")
            case .details: LocalizedText("补充信息", "Details")
            case .documents: LocalizedText("上传材料", "Documents")
            case .review: LocalizedText("核对并提交", "Check and submit")
            }
        }

        /// The step where a field (named as in the API) is filled in.
        static func holding(_ field: String) -> Step {
            if field.hasPrefix("documents.") { return .documents }
            if field.hasPrefix("identity."), field != "identity.address" { return .identity }
            return .details
        }

        /// The steps a program has: details only with sections, documents only with document rules.
        static func steps(for program: Program) -> [Step] {
            allCases.filter {
                switch $0 {
                case .details: !program.sections.filter { $0 != .address }.isEmpty || program.sections.contains(.address)
                case .documents: !program.documents.isEmpty
                default: true
                }
            }
        }
    }

    static let title = LocalizedText("我的实名认证", "My verifications")
    static let lead = LocalizedText("在这里申请实名认证、查看进度和结果。", "Apply for verification and follow its progress here.")
    static let start = LocalizedText("开始申请", "Start")
    static let none = LocalizedText("还没有申请。从下面选择一个认证项目开始。", "No applications yet. Choose a program below to start.")
    static let programs = LocalizedText("可以申请的项目", "Programs you can apply for")
    static let open = LocalizedText("查看", "Open")
    static let next = LocalizedText("保存，下一步", "Save and continue")
    static let nextQuestion = LocalizedText("保存，下一项", "Save, next question")
    static let previousQuestion = LocalizedText("上一项", "Previous question")
    static let back = LocalizedText("上一步", "Back")
    static let submit = LocalizedText("提交认证申请", "Submit the application")
    static let edit = LocalizedText("修改信息", "Change the details")
    static let continueEditing = LocalizedText("继续填写", "Continue")
    static let upload = LocalizedText("上传", "Upload")
    static let takePhoto = LocalizedText("拍照上传", "Take a photo")
    static let chooseFile = LocalizedText("或者从相册、文件中选择", "Or choose a picture or file")
    static let uploading = LocalizedText("上传进度", "Upload progress")
    static let remove = LocalizedText("删除", "Remove")
    static let uploaded = LocalizedText("已上传", "Uploaded")
    static let notUploaded = LocalizedText("尚未上传", "Not uploaded yet")
    static let optional = LocalizedText("（可选）", " (optional)")
    static let fileHint = LocalizedText("请拍摄完整、清晰的照片；JPG、PNG 或 PDF。", "Take a sharp photo of the whole document; JPG, PNG or PDF.")
    static let stillToDo = LocalizedText("提交前还需处理", "Still to do before submitting")
    static let allReady = LocalizedText("信息和材料齐全，可以提交。", "Everything is in place; you can submit.")
    static let problems = LocalizedText("需要处理的问题", "What needs attention")
    static let checks = LocalizedText("自动检查结果", "Automatic checks")
    static let checksBeforeReview = LocalizedText("提交时的自动检查结果（审核人员的意见见上方）", "Automatic checks at submission (the reviewer's findings are above)")
    static let reviewerSays = LocalizedText("审核人员留言：", "The reviewer writes: ")
    static let timeline = LocalizedText("办理记录", "History")
    static let identityCode = LocalizedText("身份识别码", "Identity code")
    static let validUntil = LocalizedText("有效期至", "Valid until")
    /// "label：value" in Chinese, "label: value" in English.
    static func fact(_ label: LocalizedText, _ value: String, _ lang: Lang) -> String {
        label(lang) + (lang == .en ? ": " : "：") + value
    }

    static let renew = LocalizedText("更新信息并重新认证", "Update details and verify again")
    static let renewLead = LocalizedText("信息有变化（如换了新身份证）或认证即将到期时，可在原有信息的基础上重新认证；证件照片需要重新上传。",
                                         "When your details change (e.g. a new ID card) or the verification runs out, verify again starting from your current details; upload the photos afresh.")
    static let confirmTitle = LocalizedText("输入确认码", "Enter the confirmation code")
    static let confirmLead = LocalizedText("确认码已发送到您的手机或邮箱，请在规定时间内输入。", "The code was sent to your phone or e-mail; enter it in time.")
    static let confirmBefore = LocalizedText("请在此时间前输入", "Enter it before")
    static let code = LocalizedText("确认码", "Code")
    static let confirm = LocalizedText("确认", "Confirm")
    static let resend = LocalizedText("重新发送确认码", "Send a new code")
    static let consentTitle = LocalizedText("监护人同意", "Guardian's consent")
    static let consentLead = LocalizedText("申请人未满 14 周岁。我们会把说明和验证码发到监护人手机，监护人同意后请在这里输入验证码。",
                                           "The applicant is under 14. We send an explanation and a code to the guardian's phone; once they agree, enter the code here.")
    static let consentSend = LocalizedText("发送给监护人", "Send to the guardian")
    static let consentGiven = LocalizedText("监护人已同意。", "The guardian has consented.")
    static let confirmed = LocalizedText("确认成功，实名认证已完成。", "Confirmed: your verification is complete.")
    static let consented = LocalizedText("监护人已同意，可以提交申请了。", "Your guardian has consented; you can submit the application now.")
    static let appealed = LocalizedText("已提交申诉，将由未参与原决定的工作人员复核，结果会通知您。",
                                        "Your appeal is in. Someone who took no part in the original decision will review it; you will be told the result.")
    static let appealTitle = LocalizedText("提出申诉", "Appeal")
    static let appealFrozenLead = LocalizedText("您的账号已被冻结。如果您认为有误，请说明情况，我们会重新审核。每份申请可申诉一次。",
                                                "Your account is frozen. If you think this is wrong, tell us why and we will review it again. Each application can be appealed once.")
    static let appealRejectedLead = LocalizedText("如果您认为审核结果有误，请说明情况，我们会重新审核。每份申请可申诉一次。",
                                                  "If you think the decision is wrong, tell us why and we will review it again. Each application can be appealed once.")
    static let appealReason = LocalizedText("申诉理由", "Why you appeal")
    static let appealSend = LocalizedText("提交申诉", "Send the appeal")
    static let submitted = LocalizedText("已提交，自动检查已完成，结果如下。", "Submitted; the automatic checks have run — see the result below.")
    static let submittedReturned = LocalizedText("已提交，但自动检查发现需要修改的地方，请按下面的说明修改后再提交；修改后再提交不算新的申请。",
                                                 "Submitted, but the checks found something to correct; fix what is listed below and submit again; a corrected resubmission is not a new application.")
    static let sent = LocalizedText("已发送。", "Sent.")
    static let prefilled = LocalizedText("已用您之前通过的实名认证填好了相同的内容，本项目也接受的材料已经带过来，不用重新上传。请核对，并补充本项目另外需要的内容。",
                                         "We filled in what your earlier verification already shows, and brought over the documents this program accepts too — no need to upload them again. Check them and add what this program needs besides.")
    static let showTyped = LocalizedText("点按显示完整内容，请对照证件逐位核对", "Tap to show in full and compare it with your document")
    static let by: [String: LocalizedText] = [
        "applicant": LocalizedText("本人", "you"), "system": LocalizedText("系统", "system"), "staff": LocalizedText("工作人员", "staff"),
    ]
    static let genders = [("", LocalizedText("请选择", "Choose")), ("male", LocalizedText("男", "Male")), ("female", LocalizedText("女", "Female"))]
    static let relations = [("father", LocalizedText("父亲", "Father")), ("mother", LocalizedText("母亲", "Mother")),
                            ("grandparent", LocalizedText("祖父母或外祖父母", "Grandparent")), ("other", LocalizedText("其他监护人", "Other guardian"))]

    struct Model {
        var lang: Lang
        var csrf: String
        var item: Case
        var program: Program
        var values: [String: String] = [:]
        var errors: [String: String] = [:]
        var notice: String?
        var noticeKind = "ok"
        var preview: [CheckResult] = []
        /// The deployment's help line (`SHIMING_HELP_PHONE`), on waiting pages.
        var helpPhone: String?
        /// In large type, the one question shown (`?q=`).
        var question: Int?
        /// The grades and classes of the school's imported roll, offered as choices.
        var rollSchools: [String] = []
        var rollGrades: [String] = []
        var rollClasses: [String] = []
        /// Platforms waiting for this person's verification (the hosted flow), with a way back.
        var waitingSessions: [(VerificationSession, Platform)] = []
    }

    // MARK: List

    static func list(_ cases: [Case], programs: [Program], csrf: String, lang: Lang, notice: String?, mayStart: Bool = true,
                     sensitiveConsent: ConsentText? = nil) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        if let notice { main.append(Forms.notice(notice, kind: "error")) }
        if cases.isEmpty { main.append(.p(.text(none(lang)))) }
        for item in cases {
            let name = programs.first { $0.key == item.program }?.title(lang) ?? item.program
            main.append(Forms.element("section", [("class", "card"), ("data-case", item.id.lowercasedText)], [
                .h2(.text(name)),
                .p(Forms.element("strong", [("class", "state"), ("data-state", item.state.rawValue)], [.text(item.state.label(lang))]),
                   .text(" · \(StaffPages.time(item.updatedAt))")),
                .p(.a(.class("button"), .href("/cases/\(item.id.lowercasedText)"), .text(open(lang)))),
            ]))
        }
        // A frozen holder may read and appeal, not start anything new: no buttons that only lead to a refusal.
        if !mayStart { return Layout.page(title: title, lang: lang, path: "/cases", signedIn: true, main: .group(main)) }
        main.append(.h2(.text(Self.programs(lang))))
        if let text = sensitiveConsent {
            // Asked once, separately, before the first application (PIPL art. 29); the programs follow.
            main.append(Forms.element("section", [("class", "card"), ("id", "sensitive-consent")], [
                .p(.text(ConsentPages.sensitiveLead(lang))),
                Forms.form(action: "/account/consents", csrf: csrf, [
                    Forms.void("input", [("type", "hidden"), ("name", "version-sensitive"), ("value", text.version)]),
                    Forms.void("input", [("type", "hidden"), ("name", "next"), ("value", "/cases")]),
                    ConsentPages.checkbox(name: "accept-sensitive", checked: false, error: nil, [
                        .text(" " + ConsentPages.acceptSensitiveBefore(lang)),
                        .a(.href("/sensitive-data"), .target(.blank), .text(ConsentPages.sensitiveLink(lang))),
                    ]),
                    Forms.submit(ConsentPages.acceptButton, lang: lang),
                ]),
            ]))
            return Layout.page(title: title, lang: lang, path: "/cases", signedIn: true, main: .group(main))
        }
        for program in programs {
            main.append(Forms.element("section", [("class", "card"), ("id", "start-\(program.key)")], [
                .h3(.text(program.title(lang))),
                .p(.text(program.description(lang))),
                Forms.form(action: "/cases", csrf: csrf, [
                    Forms.void("input", [("type", "hidden"), ("name", "program"), ("value", program.key)]),
                    Forms.submit(start, lang: lang),
                ]),
            ]))
        }
        return Layout.page(title: title, lang: lang, path: "/cases", signedIn: true, main: .group(main))
    }
}
