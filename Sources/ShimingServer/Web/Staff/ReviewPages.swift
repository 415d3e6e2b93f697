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

    static func lower(_ id: UUID) -> String { id.uuidString.lowercased() }

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
        var tasks: [ReviewController.TaskBody]
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
        var view: ReviewController.ReviewCaseBody
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

    /// What a revealable value is called: a case field, or the account's own contact.
    static func revealLabel(_ key: String) -> LocalizedText {
        switch key {
        case "account.phone": ReviewText.accountPhone
        case "account.email": ReviewText.accountEmail
        default: CheckReasons.fieldLabel(key)
        }
    }

    /// A stored value as people read it: genders, relations and document types in words.
    static func shown(_ field: String, _ value: String, lang: Lang) -> String {
        switch field {
        case "identity.gender": CasePages.genders.first { $0.0 == value && !value.isEmpty }?.1(lang) ?? value
        case "guardian.relation": CasePages.relations.first { $0.0 == value }?.1(lang) ?? value
        case "identity.documentType": Program.IdentityDocument(rawValue: value)?.label(lang) ?? value
        default: value
        }
    }

    /// A decision in words: the outcome and the reasons' texts.
    static func decisionText(_ decision: CasesController.CaseBody.Decision, lang: Lang) -> String {
        let outcome = ReviewText.outcomes.first { $0.0 == decision.outcome }?.1(lang)
            ?? (["approved": CaseState.approved, "needs_review": .needsReview, "returned": .returned][decision.outcome]?.label(lang) ?? decision.outcome)
        return ([outcome] + decision.reasons.map(\.message)).joined(separator: " · ")
    }

    static func reviewCase(_ model: CaseModel) -> HTML {
        let lang = model.lang, view = model.view, item = view.case, task = view.task
        let caseID = lower(item.id)
        var main: [Body] = [
            .p(.class("lead"), .text("\(model.programTitle) · "),
               Forms.element("strong", [("id", "case-state"), ("data-state", item.state)], [.text(item.stateLabel)]),
               .text(" · \(ReviewText.kinds[task.kind]?(lang) ?? task.kind) · \(ReviewText.due(lang)) \(StaffPages.time(task.dueAt))")),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        if let (field, value) = model.revealed {
            main.append(Forms.element("div", [("class", "notice ok"), ("id", "revealed"), ("data-field", field)],
                                      [.text("\(revealLabel(field)(lang))\(ReviewText.revealed(lang))\(value)")]))
        }
        if let appeal = view.appeal {
            main.append(section("appeal", ReviewText.appeal, lang: lang, [
                .p(.strong(.text(ReviewText.contests[appeal.contests]?(lang) ?? appeal.contests))),
                Forms.element("blockquote", [], [.text(appeal.reason)]),
            ]))
        }

        // Left: what was submitted; right: the documents.
        let identity = item.identity
        var facts: [(String, String?)] = [
            ("identity.name", identity.name), ("identity.documentType", identity.documentType), ("identity.documentNumber", identity.documentNumber),
            ("identity.gender", identity.gender), ("identity.address", identity.address),
            ("contact.phone", item.contact?.phone), ("contact.email", item.contact?.email),
            ("school.school", item.school?.school), ("school.grade", item.school?.grade), ("school.class", item.school?.class),
            ("guardian.name", item.guardian?.name), ("guardian.phone", item.guardian?.phone), ("guardian.relation", item.guardian?.relation),
            ("organisation.name", item.organisation?.name), ("organisation.creditCode", item.organisation?.creditCode),
            ("organisation.representative", item.organisation?.representative),
        ]
        facts = facts.filter { $0.1 != nil }
        let dataSection = section("submitted", ReviewText.submitted, lang: lang, [
            Forms.element("dl", [("class", "facts")], facts.flatMap { field, value in
                [Forms.element("dt", [], [.text(CheckReasons.fieldLabel(field)(lang))]),
                 Forms.element("dd", [("data-field", field)], [.text(shown(field, value ?? "", lang: lang))])]
            }),
        ])
        let documents = section("documents", ReviewText.documents, lang: lang, item.documents.map { file in
            let href = "/staff/review/cases/\(caseID)/documents/\(lower(file.id))"
            let label = file.kind.map { CheckReasons.fieldLabel("documents.\($0)")(lang) } ?? ""
            if file.contentType.hasPrefix("image/") {
                return Forms.element("figure", [], [
                    Forms.element("a", [("href", href)], [Forms.void("img", [("src", href), ("alt", label), ("loading", "lazy")])]),
                    Forms.element("figcaption", [], [.text(label)]),
                ])
            }
            return .p(link(href, "\(label) · \(ReviewText.openDocument(lang))"))
        })
        main.append(Forms.element("div", [("class", "side-by-side")], [dataSection, documents]))

        main.append(section("checks", ReviewText.checks, lang: lang, [
            Forms.element("ul", [("class", "checks")], item.checks.map {
                Forms.element("li", [("class", $0.passed ? "passed" : "failed"), ("data-check", $0.check)], [.text(($0.passed ? "✓ " : "✗ ") + $0.reason)])
            }),
        ]))
        if let registry = item.checks.first(where: { $0.check == "registry" }), registry.matched != nil || registry.differed != nil {
            let rows: [[Body]] = (registry.matched ?? []).map { [.text(matchLabel($0, lang)), .text("✓ " + ReviewText.matched(lang))] }
                + (registry.differed ?? []).map { [.text(matchLabel($0, lang)), .text("✗ " + ReviewText.differed(lang))] }
            main.append(section("registry", ReviewText.registry, lang: lang, [StaffPages.table([ReviewText.field(lang), ""], rows)]))
        }
        if !view.related.isEmpty {
            main.append(section("related", ReviewText.related, lang: lang, [StaffPages.table(
                [ReviewText.program(lang), StaffText.state(lang), ReviewText.decision(lang), StaffText.filedAt(lang)],
                view.related.map { other in
                    let title = model.programTitles[other.program] ?? other.program
                    let whose = (other.sameAccount ? ReviewText.sameAccount : ReviewText.sameNumber)(lang)
                    // The other account behind a duplicate, for those who may open accounts.
                    let account: Body = model.canReadAccounts && !other.sameAccount
                        ? .group(.text(" · "), link("/staff/accounts?id=\(lower(other.accountId))", ReviewText.openAccount(lang))) : .empty
                    return [
                        .group(.text("\(title) · \(whose)"), account),
                        .text(CaseState(rawValue: other.state)?.label(lang) ?? other.state),
                        .text(other.decision.map { decisionText($0, lang: lang) } ?? "—"),
                        .text(StaffPages.time(other.createdAt)),
                    ]
                }
            )]))
        }
        let channelOptions = ReviewService.contactChannels.map { ($0, ReviewText.channels[$0]?(lang) ?? $0) }
        main.append(section("contacts", ReviewText.contacts, lang: lang, [
            Forms.element("ul", [("class", "plain")], view.contacts.map {
                Forms.element("li", [], [.text("\(StaffPages.time($0.at)) · \(ReviewText.channels[$0.channel]?(lang) ?? $0.channel) · \($0.note)")])
            }),
            Forms.form(action: "/staff/review/cases/\(caseID)/contacts", csrf: model.csrf, [
                select("channel", ReviewText.channel, channelOptions, error: error(model, "channel"), lang: lang),
                textarea("contactNote", ReviewText.contactNote, value: model.values["contactNote"] ?? "", error: error(model, "contactNote"), lang: lang),
                Forms.submit(ReviewText.recordContact, lang: lang, primary: false),
            ]),
        ]))
        // What this case has, the number first; the account's own contacts always.
        let present = Set(facts.map(\.0))
        let revealOptions = ReviewService.revealOrder.filter { $0.hasPrefix("account.") || present.contains($0) }.map { key in
            (key, revealLabel(key)(lang))
        }
        main.append(section("reveal", ReviewText.reveal, lang: lang, [
            .p(.class("hint"), .text(ReviewText.revealLead(lang))),
            Forms.form(action: "/staff/review/cases/\(caseID)/reveal", csrf: model.csrf, [
                select("field", ReviewText.field, revealOptions, error: error(model, "field"), lang: lang),
                Forms.field(.init(name: "purpose", label: ReviewText.purpose, value: model.values["purpose"] ?? ""), error: error(model, "purpose"), lang: lang),
                Forms.submit(ReviewText.reveal, lang: lang, primary: false),
            ]),
        ]))
        if task.state == "open" {
            let outcomes = view.appeal == nil ? ReviewText.outcomes : ReviewText.outcomes.filter { $0.0 != "return" }
            let chosen = model.values["outcome"]
            main.append(section("decision", ReviewText.decision, lang: lang, [
                Forms.form(action: "/staff/review/tasks/\(lower(task.id))/decision", csrf: model.csrf, [
                    Forms.element("fieldset", [("class", "choices"), ("id", "outcomes")], [Forms.element("legend", [], [.text(ReviewText.decision(lang))])]
                        + (model.errors["outcome"].map { _ in [Forms.element("p", [("class", "field-error"), ("id", "outcome-error")],
                                                                             [.text(ReviewText.chooseOutcome(lang))])] } ?? [])
                        + outcomes.map { value, label in
                            var attributes = [("type", "radio"), ("name", "outcome"), ("value", value), ("id", "outcome-\(value)")]
                            if chosen == value { attributes.append(("checked", "checked")) }
                            return Forms.element("label", [("for", "outcome-\(value)")], [Forms.void("input", attributes), .text(" " + label(lang))])
                        }),
                    Forms.element("fieldset", [("class", "choices"), ("id", "reason-codes")],
                                  [Forms.element("legend", [], [.text(ReviewText.reasons(lang))])]
                                    + (error(model, "reasons").map { [Forms.element("p", [("class", "field-error")], [.text($0)])] } ?? [])
                                    + model.reasons.map { reason in
                                        var attributes = [("type", "checkbox"), ("name", "reasons[]"), ("value", reason.code), ("id", "reason-\(reason.code)")]
                                        if model.chosenReasons.contains(reason.code) { attributes.append(("checked", "checked")) }
                                        return Forms.element("label", [("for", "reason-\(reason.code)")],
                                                             [Forms.void("input", attributes), .text(" " + reason.text(lang))])
                                    }),
                    // For each reason, the item it is about: the applicant's edit button opens that step.
                    Forms.element("fieldset", [("class", "choices"), ("id", "reason-fields")],
                                  [Forms.element("legend", [], [.text(ReviewText.reasonAbout(lang))])]
                                    + (error(model, "fields").map { [Forms.element("p", [("class", "field-error")], [.text($0)])] } ?? [])
                                    + model.reasons.map { reason in
                                        let chosenField = model.values["fields.\(reason.code)"] ?? ""
                                        let options = [("", ReviewText.noField(lang))] + model.fieldNames.map { ($0, CheckReasons.fieldLabel($0)(lang)) }
                                        return Forms.labelled(id: "about-\(reason.code)", label: reason.text(lang), error: nil,
                                                              control: Forms.element("select", [("id", "about-\(reason.code)"), ("name", "fields[\(reason.code)]")],
                                                                                     options.map { value, text in
                                            Forms.element("option", value == chosenField ? [("value", value), ("selected", "selected")] : [("value", value)], [.text(text)])
                                        }))
                                    }),
                    textarea("message", ReviewText.message, value: model.values["message"] ?? "", error: error(model, "message"), lang: lang),
                    textarea("note", ReviewText.note, value: model.values["note"] ?? "", error: error(model, "note"), lang: lang),
                    Forms.submit(ReviewText.decide, lang: lang),
                ]),
            ]))
        } else {
            main.append(.p(.text(ReviewText.taskClosed(lang))))
        }
        main.append(section("raise-alert", ReviewText.raiseAlert, lang: lang, [
            Forms.form(action: "/staff/review/cases/\(caseID)/alert", csrf: model.csrf, [
                textarea("alertNote", ReviewText.alertNote, value: model.values["alertNote"] ?? "", error: error(model, "alertNote"), lang: lang),
                Forms.submit(ReviewText.raiseAlert, lang: lang, primary: false),
            ]),
        ]))
        if task.mine, task.state == "open" {
            main.append(Forms.form(action: "/staff/review/tasks/\(lower(task.id))/release", csrf: model.csrf,
                                   [Forms.submit(ReviewText.release, lang: lang, primary: false)]))
        }
        main.append(.p(link("/staff/review", ReviewText.queue(lang))))
        return frame(ReviewText.caseTitle, lang: lang, path: "/staff/review/cases/\(caseID)", main)
    }
}
