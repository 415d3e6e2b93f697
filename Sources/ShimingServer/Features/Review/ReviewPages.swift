import Foundation
import IdentityRules
import Plot
import ShimingCore

/// Texts of the back-office pages.
enum ReviewText {
    static let queue = LocalizedText("审核任务", "Review tasks")
    static let queueLead = LocalizedText("先处理即将到期的任务。领取后其他人不能同时处理；长时间不操作会自动退回队列。",
                                         "Take the tasks due soonest first. A claimed task is yours alone; left idle it returns to the queue.")
    static let scopes: [(String, LocalizedText)] = [
        ("all", LocalizedText("全部", "All")), ("unclaimed", LocalizedText("未领取", "Unclaimed")),
        ("mine", LocalizedText("我的", "Mine")), ("escalated", LocalizedText("已上报主管", "Escalated")),
    ]
    static let program = LocalizedText("项目", "Program")
    static let kind = LocalizedText("类型", "Kind")
    static let kinds: [String: LocalizedText] = ["review": LocalizedText("审核", "Review"), "appeal": LocalizedText("申诉", "Appeal")]
    static let due = LocalizedText("截止时间", "Due")
    static let overdue = LocalizedText("已超时", "Overdue")
    static let assignee = LocalizedText("处理人", "Assignee")
    static let me = LocalizedText("我", "Me")
    static let someone = LocalizedText("他人", "Someone else")
    static let nobody = LocalizedText("未领取", "Unclaimed")
    static let claim = LocalizedText("领取", "Claim")
    static let release = LocalizedText("退回队列", "Give back")
    static let openCase = LocalizedText("查看", "Open")
    static let onDuty = LocalizedText("您正在值班，新任务会自动分配给您。", "You are on duty: new tasks are assigned to you in turn.")
    static let offDuty = LocalizedText("您未值班。", "You are off duty.")
    static let startDuty = LocalizedText("开始值班", "Go on duty")
    static let endDuty = LocalizedText("结束值班", "Go off duty")
    static let decided = LocalizedText("已提交审核决定。", "Decision recorded.")
    static let caseTitle = LocalizedText("审核申请", "Review an application")
    static let submitted = LocalizedText("提交的信息（已脱敏）", "Submitted data (masked)")
    static let documents = LocalizedText("证件材料", "Documents")
    static let openDocument = LocalizedText("打开文件", "Open the file")
    static let checks = LocalizedText("自动核验", "Automatic checks")
    static let registry = LocalizedText("与权威数据比对", "Registry comparison")
    static let matched = LocalizedText("一致", "Matches")
    static let differed = LocalizedText("不一致", "Differs")
    static let related = LocalizedText("此人的其他申请", "This person's other applications")
    static let sameAccount = LocalizedText("同一账号", "Same account")
    static let sameNumber = LocalizedText("同一证件号", "Same number")
    static let contacts = LocalizedText("联系记录", "Contact log")
    static let channel = LocalizedText("方式", "Channel")
    static let channels: [String: LocalizedText] = [
        "phone": LocalizedText("电话", "Phone"), "sms": LocalizedText("短信", "SMS"),
        "email": LocalizedText("邮件", "E-mail"), "in_person": LocalizedText("当面", "In person"),
    ]
    static let contactNote = LocalizedText("沟通内容", "What was said")
    static let recordContact = LocalizedText("记录联系", "Record the contact")
    static let reveal = LocalizedText("查看完整信息", "Reveal a value")
    static let revealLead = LocalizedText("查看完整信息需要说明用途，会记录在审计日志中。", "Revealing a value needs a purpose and is recorded in the audit log.")
    static let field = LocalizedText("字段", "Field")
    static let purpose = LocalizedText("用途", "Purpose")
    static let revealed = LocalizedText("完整内容：", "Value: ")
    static let accountPhone = LocalizedText("账号手机号", "Account phone")
    static let openAccount = LocalizedText("查看该账号", "Open that account")
    static let accountEmail = LocalizedText("账号邮箱", "Account e-mail")
    static let decision = LocalizedText("审核决定", "Decision")
    static let outcomes: [(String, LocalizedText)] = [
        ("approve", LocalizedText("通过", "Approve")), ("return", LocalizedText("退回补正", "Return for correction")),
        ("reject", LocalizedText("不通过", "Reject")),
    ]
    static let reasons = LocalizedText("原因（退回或不通过时必选，申请人会看到）", "Reasons (required to return or reject; the applicant sees them)")
    static let note = LocalizedText("内部备注（申请人看不到）", "Internal note (the applicant does not see it)")
    static let decide = LocalizedText("提交决定", "Submit the decision")
    static let chooseOutcome = LocalizedText("请选择审核决定：通过、不通过或退回修改。", "Choose a decision: approve, reject or return.")
    static let reasonAbout = LocalizedText("每个原因涉及哪一项（可选；申请人点“修改信息”会直接打开这一步）", "Which item each reason is about (optional; the applicant's edit button opens its step)")
    static let noField = LocalizedText("不指定", "Not specified")
    static let message = LocalizedText("给申请人的话（可选，申请人会看到，最多 500 字）", "Words for the applicant (optional, they read it; at most 500 characters)")
    static let appeal = LocalizedText("申诉", "Appeal")
    static let contests: [String: LocalizedText] = ["freeze": LocalizedText("针对账号冻结", "Against a freeze"),
                                                    "rejection": LocalizedText("针对不通过的决定", "Against a rejection")]
    static let taskClosed = LocalizedText("该任务已处理完毕。", "This task is closed.")
    static let alerts = LocalizedText("风险提醒", "Risk alerts")
    static let alertKinds: [String: LocalizedText] = [
        "failed_verification": LocalizedText("核验失败", "Failed verification"), "duplicate_identity": LocalizedText("证件号重复", "Duplicate identity"),
        "rate_limited": LocalizedText("操作过于频繁", "Frequency limit hit"), "staff": LocalizedText("工作人员上报", "Raised by staff"),
    ]
    static let alertStates: [String: LocalizedText] = [
        "open": LocalizedText("待处理", "Open"), "acknowledged": LocalizedText("已确认", "Acknowledged"), "resolved": LocalizedText("已解决", "Resolved"),
    ]
    static let about = LocalizedText("对象", "About")
    static let times = LocalizedText("次数", "Times")
    static let lastSeen = LocalizedText("最近一次", "Last seen")
    static let acknowledge = LocalizedText("确认", "Acknowledge")
    static let resolve = LocalizedText("解决", "Resolve")
    static let resolution = LocalizedText("处理说明", "What was done")
    static let raiseAlert = LocalizedText("上报风险", "Raise an alert")
    static let alertNote = LocalizedText("发现了什么（主管会看到）", "What you noticed (supervisors read it)")
    static let alerted = LocalizedText("已上报给主管。", "Raised with the supervisors.")
    static let feedback = LocalizedText("意见反馈", "Feedback")
    static let tags = LocalizedText("标签（用逗号分隔）", "Tags (comma-separated)")
    static let markRead = LocalizedText("保存并标为已读", "Save and mark read")
    static let answer = LocalizedText("回复", "Answer")
    static let sendAnswer = LocalizedText("发送回复", "Send the answer")
    static let feedbackStates: [String: LocalizedText] = [
        "new": LocalizedText("未读", "New"), "read": LocalizedText("已读", "Read"), "answered": LocalizedText("已回复", "Answered"),
    ]
    static let figures = LocalizedText("审核绩效", "Reviewer figures")
    static let from = LocalizedText("开始日期", "From")
    static let to = LocalizedText("结束日期（含）", "To (inclusive)")
    static let show = LocalizedText("查看", "Show")
    static let reviewer = LocalizedText("审核员", "Reviewer")
    static let team = LocalizedText("团队（项目）", "Team (program)")
    static let decidedCount = LocalizedText("已处理", "Decided")
    static let median = LocalizedText("处理时长中位数", "Median time")
    static let p90 = LocalizedText("90% 分位时长", "90th percentile")
    static let overdueCount = LocalizedText("超时", "Overdue")
    static let overturned = LocalizedText("被申诉推翻", "Overturned")
    static let returnedShare = LocalizedText("退回占比", "Returned")
    static let rejectedShare = LocalizedText("不通过占比", "Rejected")
    static let chartDecided = LocalizedText("各审核员处理数量", "Tasks decided per reviewer")
    static let chartTimes = LocalizedText("各审核员处理时长（分钟：中位数 / 90% 分位）", "Time to decision per reviewer (minutes: median / p90)")
    static let freeze = LocalizedText("冻结账号", "Freeze the account")
    static let freezeReason = LocalizedText("冻结原因（用户会看到）", "Reason (the holder reads it)")
    static let unfreeze = LocalizedText("解除冻结", "Lift the freeze")
    static let frozenDone = LocalizedText("已冻结该账号，并已通知用户。", "The account is frozen and the holder has been told.")
    static let unfrozenDone = LocalizedText("已解除冻结。", "The freeze is lifted.")
}

/// The back-office pages: the queue, a case side by side, alerts, feedback, figures.
enum ReviewPages {
    typealias Body = Node<HTML.BodyContext>

    static func frame(_ title: LocalizedText, lang: Lang, path: String, _ main: [Body]) -> HTML {
        StaffPages.frame(title, lang: lang, path: path, main)
    }

    static func link(_ href: String, _ text: String, id: String? = nil) -> Body {
        var attributes = [("href", href)]
        if let id { attributes.append(("id", id)) }
        return Forms.element("a", attributes, [.text(text)])
    }

    static func lower(_ id: UUID) -> String { id.lowercasedText }

    /// A registry comparison field's name (`document_number`, `class`, …) as the form calls it.
    static func matchLabel(_ field: String, _ lang: Lang) -> String {
        let formField = switch Program.MatchField(rawValue: field) {
        case .name: "identity.name"
        case .documentNumber: "identity.documentNumber"
        case .school: "school.school"
        case .grade: "school.grade"
        case .class: "school.class"
        case .enrolmentYear: "school.enrolmentYear"
        case nil: field
        }
        return CheckReasons.fieldLabel(formField)(lang)
    }

    // MARK: Queue

    struct QueueModel {
        var lang: Lang
        var csrf: String
        var scope: String
        var tasks: [ReviewTaskView]
        var programs: [String: String]
        var onDuty: Bool?
        var notice: String?
        var noticeKind = "ok"
    }

    static func queue(_ model: QueueModel) -> HTML {
        let lang = model.lang
        var main: [Body] = [.p(.class("lead"), .text(ReviewText.queueLead(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        if let onDuty = model.onDuty {
            main.append(Forms.form(action: "/staff/review/duty", csrf: model.csrf, [
                .p(.text((onDuty ? ReviewText.onDuty : ReviewText.offDuty)(lang))),
                Forms.void("input", [("type", "hidden"), ("name", "onDuty"), ("value", onDuty ? "false" : "true")]),
                Forms.submit(onDuty ? ReviewText.endDuty : ReviewText.startDuty, lang: lang, primary: false),
            ]))
        }
        main.append(Forms.element("nav", [("class", "tabs"), ("aria-label", ReviewText.queue(lang))], ReviewText.scopes.map { key, label in
            var attributes = [("href", "/staff/review?scope=\(key)")]
            if key == model.scope { attributes.append(("aria-current", "page")) }
            return Forms.element("a", attributes, [.text(label(lang))])
        }))
        if model.tasks.isEmpty {
            main.append(.p(.text(StaffText.none(lang))))
        } else {
            main.append(StaffPages.table(
                [ReviewText.program(lang), ReviewText.kind(lang), ReviewText.due(lang), ReviewText.assignee(lang), ""],
                model.tasks.map { task in
                    let id = lower(task.id)
                    let due = StaffPages.time(task.dueAt) + (task.overdue ? "（\(ReviewText.overdue(lang))）" : "")
                    let who = task.mine ? ReviewText.me(lang) : task.assigneeId == nil ? ReviewText.nobody(lang) : ReviewText.someone(lang)
                    var actions: [Body] = [link("/staff/review/cases/\(lower(task.caseId))", ReviewText.openCase(lang))]
                    if !task.mine {
                        actions.append(Forms.form(action: "/staff/review/tasks/\(id)/claim", csrf: model.csrf,
                                                  [Forms.submit(ReviewText.claim, lang: lang)]))
                    }
                    return [
                        .text(model.programs[task.program] ?? task.program),
                        .text(ReviewText.kinds[task.kind]?(lang) ?? task.kind),
                        Forms.element("span", [("class", task.overdue ? "overdue" : "")], [.text(due)]),
                        .text(who),
                        Forms.element("div", [("class", "actions"), ("data-task", id)], actions),
                    ]
                }
            ))
        }
        return frame(ReviewText.queue, lang: lang, path: "/staff/review", main)
    }

    // MARK: One case

    struct CaseModel {
        var lang: Lang
        var csrf: String
        var view: ReviewCaseView
        var programTitle: String
        var reasons: [ReviewReasonList.Reason]
        var staffID: UUID
        var revealed: (field: String, value: String)?
        var notice: String?
        var noticeKind = "ok"
        var errors: [String: String] = [:]
        var values: [String: String] = [:]
        var chosenReasons: Set<String> = []
        /// The fields and documents of the case's program, for "which item is this about".
        var fieldNames: [String] = []
        var programTitles: [String: String] = [:]
        /// Supervisors, admins and auditors may open the accounts behind related cases.
        var canReadAccounts = false
    }

    static func error(_ model: CaseModel, _ name: String) -> String? {
        model.errors[name].map { Forms.message(for: $0, lang: model.lang) }
    }

    static func textarea(_ name: String, _ label: LocalizedText, value: String, error: String?, lang: Lang) -> Body {
        var attributes = [("id", "field-\(name)"), ("name", name), ("rows", "3")]
        if error != nil { attributes.append(("aria-invalid", "true")) }
        return Forms.labelled(id: "field-\(name)", label: label(lang), error: error, control: Forms.element("textarea", attributes, [.text(value)]))
    }

    static func select(_ name: String, _ label: LocalizedText, _ options: [(String, String)], error: String?, lang: Lang) -> Body {
        Forms.labelled(id: "field-\(name)", label: label(lang), error: error, control: Forms.element("select", [("id", "field-\(name)"), ("name", name)],
            options.map { Forms.element("option", [("value", $0.0)], [.text($0.1)]) }))
    }

    static func section(_ id: String, _ title: LocalizedText, lang: Lang, _ children: [Body]) -> Body {
        Forms.element("section", [("class", "card"), ("id", id)], [.h2(.text(title(lang)))] + children)
    }
}
