import Foundation
import IdentityRules
import Plot
import ShimingCore

/// Texts of the staff pages.
enum StaffText {
    static let desk = LocalizedText("工作台", "Staff desk")
    static let deskLead = LocalizedText("待办事项和管理功能。每次查看个人信息都会记录在审计日志中。",
                                        "Work waiting for you and administration. Every look at personal data is recorded in the audit log.")
    static let changeRequests = LocalizedText("信息变更申请", "Change requests")
    static let pendingCount = LocalizedText("待审核", "waiting")
    static let accounts = LocalizedText("查找账号", "Find an account")
    static let newStaff = LocalizedText("新建工作人员账号", "New staff account")
    static let outbox = LocalizedText("发送失败的消息", "Failed deliveries")
    static let state = LocalizedText("状态", "State")
    static let applicant = LocalizedText("申请人", "Applicant")
    static let filedAt = LocalizedText("提交时间", "Filed")
    static let open = LocalizedText("打开", "Open")
    static let none = LocalizedText("没有待办。", "Nothing waiting.")
    static let currentValue = LocalizedText("现在的内容", "Now")
    static let proofs = LocalizedText("证明材料", "Proof")
    static let openPDF = LocalizedText("打开 PDF 文件", "Open the PDF file")
    static let decide = LocalizedText("审核决定", "Decision")
    static let approve = LocalizedText("通过并修改", "Approve and change")
    static let reject = LocalizedText("驳回", "Reject")
    static let note = LocalizedText("说明（驳回时必填，申请人会看到）", "Note (required to reject; the applicant sees it)")
    static let decided = LocalizedText("已处理。", "Decided.")
    static let login = LocalizedText("用户名、手机号或邮箱", "Username, phone or e-mail")
    static let find = LocalizedText("查找", "Find")
    static let byNumber = LocalizedText("按证件号码查找（会记录在日志中）", "Find by document number (recorded in the log)")
    static let byNumberHint = LocalizedText("完整的证件号码；只比对加密索引，不保存您输入的号码。", "The whole number; only its keyed index is compared, what you type is not stored.")
    static let kindStaff = LocalizedText("工作人员", "staff")
    static let kindApplicant = LocalizedText("申请人", "applicant")
    static let numberMatches = LocalizedText("持有这个证件号码的账号：", "Accounts holding this number:")
    static let notFound = LocalizedText("没有找到这个账号。", "No such account.")
    static let lockedUntil = LocalizedText("登录锁定至", "Sign-in locked until")
    static let notLocked = LocalizedText("未锁定", "Not locked")
    static let failures = LocalizedText("近期登录失败次数", "Recent failed sign-ins")
    static let kind = LocalizedText("类型", "Kind")
    static let roles = LocalizedText("角色", "Roles")
    static let scopeHint = LocalizedText("班主任需要填写学校、年级和班级。", "A teacher needs school, grade and class.")
    static let school = LocalizedText("学校", "School")
    static let grade = LocalizedText("年级", "Grade")
    static let className = LocalizedText("班级", "Class")
    static let create = LocalizedText("创建", "Create")
    static let created = LocalizedText("已创建工作人员账号：", "Staff account created: ")
    static let template = LocalizedText("模板", "Template")
    static let recipient = LocalizedText("接收人", "To")
    static let attempts = LocalizedText("尝试次数", "Attempts")
    static let lastError = LocalizedText("最后的错误", "Last error")
    static let retry = LocalizedText("重新发送", "Send again")
    static let retried = LocalizedText("已重新排队发送。", "Queued again.")
    static let roleNames: [StaffRole: LocalizedText] = [
        .reviewer: LocalizedText("审核员", "Reviewer"), .teacher: LocalizedText("班主任", "Teacher"),
        .supervisor: LocalizedText("主管", "Supervisor"), .admin: LocalizedText("管理员", "Administrator"),
        .auditor: LocalizedText("审计员", "Auditor"),
    ]
}

/// The staff pages: desk, change requests, account lookup, new staff, failed deliveries.
enum StaffPages {
    static func frame(_ title: LocalizedText, lang: Lang, path: String, _ main: [Node<HTML.BodyContext>]) -> HTML {
        Layout.page(title: title, lang: lang, path: path, signedIn: true, staff: true,
                    main: .group([.h1(.text(title(lang)))] + main + [.p(.a(.href("/staff"), .text(StaffText.desk(lang))))]))
    }

    static func time(_ date: Date) -> String { ChinaTime.minute(date) }

    static func table(_ headers: [String], _ rows: [[Node<HTML.BodyContext>]]) -> Node<HTML.BodyContext> {
        Forms.element("div", [("class", "table-wrap")], [Forms.element("table", [("class", "list")], [
            Forms.element("thead", [], [Forms.element("tr", [], headers.map { Forms.element("th", [("scope", "col")], [.text($0)]) })]),
            // Each cell names its column, so the table reads as cards on a phone.
            Forms.element("tbody", [], rows.map { row in
                Forms.element("tr", [], row.enumerated().map { index, cell in
                    Forms.element("td", index < headers.count ? [("data-label", headers[index])] : [], [cell])
                })
            }),
        ])])
    }

    struct DeskModel {
        var lang: Lang
        var account: Account
        var pendingChangeRequests: Int?
        var failedMessages: Int?
        var openTasks: Int?
        var openAlerts: Int?
        var newFeedback: Int?
    }

    static func desk(_ model: DeskModel) -> HTML {
        let lang = model.lang
        let roles = model.account.roles
        var links: [Node<HTML.BodyContext>] = []
        func link(_ href: String, _ text: LocalizedText, count: Int? = nil) {
            let suffix = count.map { "（\(StaffText.pendingCount(lang)) \($0)）" } ?? ""
            links.append(Forms.element("li", [], [Forms.element("a", [("href", href)], [.text(text(lang) + suffix)])]))
        }
        if !roles.isDisjoint(with: AccessPolicy.readChangeRequests) {
            link("/staff/change-requests", StaffText.changeRequests, count: model.pendingChangeRequests)
        }
        if !roles.isDisjoint(with: AccessPolicy.readAccounts) { link("/staff/accounts", StaffText.accounts) }
        if !roles.isDisjoint(with: AccessPolicy.administer) { link("/staff/new", StaffText.newStaff) }
        if !roles.isDisjoint(with: AccessPolicy.reviewCases) { link("/staff/review", ReviewText.queue, count: model.openTasks) }
        if !roles.isDisjoint(with: AccessPolicy.readAlerts) { link("/staff/alerts", ReviewText.alerts, count: model.openAlerts) }
        if !roles.isDisjoint(with: AccessPolicy.handleFeedback) { link("/staff/feedback", ReviewText.feedback, count: model.newFeedback) }
        if !roles.isDisjoint(with: AccessPolicy.readFigures) { link("/staff/figures", ReviewText.figures) }
        if !roles.isDisjoint(with: AccessPolicy.readOutbox) { link("/staff/outbox", StaffText.outbox, count: model.failedMessages) }
        if !roles.isDisjoint(with: AccessPolicy.administer) { link("/staff/platforms", PlatformPages.title) }
        let names = roles.sorted().compactMap { StaffText.roleNames[$0]?(lang) }.joined(separator: "、")
        return frame(StaffText.desk, lang: lang, path: "/staff", [
            .p(.class("lead"), .text(StaffText.deskLead(lang))),
            .p(.text("\(model.account.username ?? "") · \(names)")),
            Forms.element("ul", [("class", "plain big-links")], links.isEmpty ? [Forms.element("li", [], [.text(StaffText.none(lang))])] : links),
        ])
    }

    static func changeRequests(_ requests: [ChangeRequest], lang: Lang, notice: String?) -> HTML {
        var main: [Node<HTML.BodyContext>] = []
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        if requests.isEmpty {
            main.append(.p(.text(StaffText.none(lang))))
        } else {
            main.append(table(
                [ChangeRequestPages.fieldLabel(lang), ChangeRequestPages.newValueLabel(lang), ChangeRequestPages.proofsCount(lang), StaffText.filedAt(lang), ""],
                requests.map { request in [
                    .text(request.field.label(lang)), .text(ChangeRequestPages.shown(request, lang: lang)), .text("\(request.proofs.count)"),
                    .text(time(request.createdAt)),
                    Forms.element("a", [("href", "/staff/change-requests/\(request.id.lowercasedText)")], [.text(StaffText.open(lang))]),
                ] }
            ))
        }
        return frame(StaffText.changeRequests, lang: lang, path: "/staff/change-requests", main)
    }

    struct ChangeRequestModel {
        var lang: Lang
        var csrf: String
        var request: ChangeRequest
        var applicant: Account?
        var canDecide: Bool
        var errors: [String: String] = [:]
        var notice: String?
        var note = ""
    }

    static func changeRequest(_ model: ChangeRequestModel) -> HTML {
        let lang = model.lang
        let request = model.request
        let id = request.id.lowercasedText
        func clear(_ value: String?) -> String {
            guard let value else { return "—" }
            return request.field == .gender ? ChangeRequestPages.genders[value]?(lang) ?? value : value
        }
        let contacts = model.applicant?.maskedContacts.map(\.value).joined(separator: "，") ?? "—"
        var main: [Node<HTML.BodyContext>] = []
        if let notice = model.notice { main.append(Forms.notice(notice, kind: "error")) }
        main.append(Forms.element("dl", [("class", "facts")], [
            Forms.element("dt", [], [.text(StaffText.applicant(lang))]),
            Forms.element("dd", [], [.text("\(model.applicant?.username ?? "—") · \(contacts)")]),
            Forms.element("dt", [], [.text(ChangeRequestPages.fieldLabel(lang))]), Forms.element("dd", [], [.text(request.field.label(lang))]),
            Forms.element("dt", [], [.text(StaffText.currentValue(lang))]), Forms.element("dd", [], [.text(clear(request.oldValue))]),
            Forms.element("dt", [], [.text(ChangeRequestPages.newValueLabel(lang))]),
            Forms.element("dd", [("data-new-value", "clear")], [.text(clear(request.newValue))]),
            Forms.element("dt", [], [.text(ChangeRequestPages.reasonLabel(lang))]), Forms.element("dd", [], [.text(request.reason)]),
            Forms.element("dt", [], [.text(StaffText.state(lang))]),
            Forms.element("dd", [("data-state", request.state.rawValue)], [.text(ChangeRequestPages.states[request.state]?(lang) ?? "")]),
            Forms.element("dt", [], [.text(StaffText.filedAt(lang))]), Forms.element("dd", [], [.text(time(request.createdAt))]),
        ]))
        main.append(.h2(.text(StaffText.proofs(lang))))
        main.append(Forms.element("div", [("class", "proofs")], request.proofs.map { file in
            let href = "/staff/change-requests/\(id)/proofs/\(file.id.lowercasedText)"
            if file.format == .pdf {
                return Forms.element("p", [], [Forms.element("a", [("href", href)], [.text(StaffText.openPDF(lang))])])
            }
            return Forms.element("figure", [], [
                Forms.void("img", [("src", href), ("alt", StaffText.proofs(lang)), ("loading", "lazy")]),
                Forms.element("figcaption", [], [.text("\(file.width ?? 0) × \(file.height ?? 0) · \(file.size / 1024) KB")]),
            ])
        }))
        if let note = request.decisionNote { main.append(.p(.text("\(ChangeRequestPages.decisionNote(lang))：\(note)"))) }
        if model.canDecide, request.state == .pending {
            main.append(.h2(.text(StaffText.decide(lang))))
            main.append(Forms.form(action: "/staff/change-requests/\(id)/decision", csrf: model.csrf, [
                ChangeRequestPages.textarea(name: "note", label: StaffText.note, value: model.note,
                                            error: model.errors["note"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                Forms.element("div", [("class", "actions")], [
                    Forms.element("button", [("type", "submit"), ("name", "outcome"), ("value", "approve"), ("class", "primary")], [.text(StaffText.approve(lang))]),
                    Forms.element("button", [("type", "submit"), ("name", "outcome"), ("value", "reject")], [.text(StaffText.reject(lang))]),
                ]),
            ]))
        }
        main.append(.p(.a(.href("/staff/change-requests"), .text(StaffText.changeRequests(lang)))))
        return frame(StaffText.changeRequests, lang: lang, path: "/staff/change-requests/\(id)", main)
    }

    struct AccountLookupModel {
        var lang: Lang
        var login = ""
        var detail: StaffAccountView?
        var searched = false
        var csrf = ""
        /// Supervisors and admins may freeze and unfreeze.
        var canFreeze = false
        /// Administrators may erase an applicant's account.
        var canErase = false
        var notice: (String, String)?
        var errors: [String: String] = [:]
        /// A look-up by document number: the accounts whose cases hold it (the number itself is
        /// not shown again).
        var matches: [StaffAccountView] = []
    }

    static func accounts(_ model: AccountLookupModel) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [
            Forms.element("form", [("method", "get"), ("action", "/staff/accounts")], [
                Forms.field(.init(name: "login", label: StaffText.login, value: model.login, required: true), error: nil, lang: lang),
                Forms.submit(StaffText.find, lang: lang),
            ]),
            Forms.element("form", [("method", "get"), ("action", "/staff/accounts"), ("id", "by-number")], [
                Forms.field(.init(name: "number", label: StaffText.byNumber, hint: StaffText.byNumberHint), error: nil, lang: lang),
                Forms.submit(StaffText.find, lang: lang, primary: false),
            ]),
        ]
        if let (text, kind) = model.notice { main.append(Forms.notice(text, kind: kind)) }
        if !model.matches.isEmpty {
            main.append(Forms.element("ul", [("class", "plain"), ("id", "number-matches")], model.matches.map { match in
                let status = AccountStatus(rawValue: match.account.status).flatMap { AccountText.statusNames[$0]?(lang) } ?? match.account.status
                return Forms.element("li", [], [.a(.href("/staff/accounts?id=\(match.account.id.lowercasedText)"),
                                                   .text("\(match.account.username ?? match.account.contacts.first?.value ?? match.account.id.uuidString) · \(status)"))])
            }))
        }
        if let detail = model.detail {
            let account = detail.account
            let status = AccountStatus(rawValue: account.status).flatMap { AccountText.statusNames[$0]?(lang) } ?? account.status
            main.append(Forms.element("dl", [("class", "facts"), ("data-account", account.id.lowercasedText)], [
                Forms.element("dt", [], [.text(AccountText.usernameLabel(lang))]), Forms.element("dd", [], [.text(account.username ?? "—")]),
                Forms.element("dt", [], [.text(StaffText.kind(lang))]),
                Forms.element("dd", [], [.text((account.kind == "staff" ? StaffText.kindStaff : StaffText.kindApplicant)(lang))]),
                Forms.element("dt", [], [.text(AccountText.status(lang))]),
                Forms.element("dd", [("data-status", account.status)], [.text(status + (detail.statusReason.map { "（\($0)）" } ?? ""))]),
                Forms.element("dt", [], [.text(AccountText.contacts(lang))]),
                Forms.element("dd", [], [.text(account.contacts.map { "\($0.value)\($0.confirmed ? " ✓" : "")" }.joined(separator: "，"))]),
                Forms.element("dt", [], [.text(StaffText.lockedUntil(lang))]),
                Forms.element("dd", [("data-locked-until", detail.signInLockedUntil.map(time) ?? "")],
                              [.text(detail.signInLockedUntil.map(time) ?? StaffText.notLocked(lang))]),
                Forms.element("dt", [], [.text(StaffText.failures(lang))]), Forms.element("dd", [], [.text("\(detail.recentFailedSignIns)")]),
            ]))
            let path = "/staff/accounts/\(account.id.lowercasedText)"
            if model.canFreeze, account.status == AccountStatus.frozen.rawValue {
                main.append(Forms.form(action: path + "/unfreeze", csrf: model.csrf, [
                    Forms.field(.init(name: "note", label: ReviewText.resolution), error: nil, lang: lang),
                    Forms.submit(ReviewText.unfreeze, lang: lang),
                ]))
            } else if model.canFreeze, account.status != AccountStatus.closed.rawValue {
                main.append(Forms.element("section", [("class", "card"), ("id", "freeze")], [
                    .h2(.text(ReviewText.freeze(lang))),
                    Forms.form(action: path + "/freeze", csrf: model.csrf, [
                        ReviewPages.textarea("reason", ReviewText.freezeReason, value: "",
                                             error: model.errors["reason"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                        Forms.submit(ReviewText.freeze, lang: lang, primary: false),
                    ]),
                ]))
            }
            if model.canErase, account.kind == "applicant", account.status != AccountStatus.closed.rawValue {
                main.append(Forms.element("section", [("class", "card"), ("id", "erase")], [
                    .h2(.text(DeletionPages.eraseTitle(lang))), .p(.text(DeletionPages.eraseLead(lang))),
                    Forms.form(action: path + "/erase", csrf: model.csrf, [
                        ReviewPages.textarea("eraseReason", DeletionPages.eraseReason, value: "",
                                             error: model.errors["eraseReason"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                        Forms.element("button", [("type", "submit"), ("class", "danger")], [.text(DeletionPages.eraseTitle(lang))]),
                    ]),
                ]))
            }
        } else if model.searched {
            main.append(Forms.notice(StaffText.notFound(lang), kind: "error"))
        }
        return frame(StaffText.accounts, lang: lang, path: "/staff/accounts", main)
    }

    struct NewStaffModel {
        var lang: Lang
        var csrf: String
        var values: [String: String] = [:]
        var roles: Set<String> = []
        var errors: [String: String] = [:]
        var notice: String?
        var noticeKind = "ok"
    }

    static func newStaff(_ model: NewStaffModel) -> HTML {
        let lang = model.lang
        let error = { (field: String) in model.errors[field].map { Forms.message(for: $0, lang: lang) } }
        var main: [Node<HTML.BodyContext>] = []
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        let roleBoxes: [Node<HTML.BodyContext>] = StaffRole.allCases.map { role in
            var attributes: [(String, String)] = [("type", "checkbox"), ("id", "role-\(role.rawValue)"), ("name", "roles[]"), ("value", role.rawValue)]
            if model.roles.contains(role.rawValue) { attributes.append(("checked", "checked")) }
            return Forms.element("div", [("class", "field check")], [
                Forms.element("label", [("for", "role-\(role.rawValue)")], [Forms.void("input", attributes), .text(StaffText.roleNames[role]?(lang) ?? role.rawValue)]),
            ])
        }
        var rolesGroup: [Node<HTML.BodyContext>] = [Forms.element("legend", [], [.text(StaffText.roles(lang))])]
        if let problem = error("roles") { rolesGroup.append(Forms.element("p", [("class", "field-error")], [.text(problem)])) }
        main.append(Forms.form(action: "/staff/new", csrf: model.csrf, [
            Forms.field(.init(name: "username", label: AccountText.usernameLabel, value: model.values["username"] ?? "", autocomplete: "off", required: true),
                        error: error("username"), lang: lang),
            Forms.field(.init(name: "password", label: AccountText.password, type: "password", autocomplete: "new-password", required: true),
                        error: error("password"), lang: lang),
            Forms.element("fieldset", [], rolesGroup + roleBoxes),
            Forms.field(.init(name: "phone", label: AccountText.phone, type: "tel", value: model.values["phone"] ?? "", inputMode: "tel"),
                        error: error("phone"), lang: lang),
            Forms.field(.init(name: "email", label: AccountText.email, type: "email", value: model.values["email"] ?? ""), error: error("email"), lang: lang),
            .p(.class("hint"), .text(StaffText.scopeHint(lang))),
            Forms.field(.init(name: "school", label: StaffText.school, value: model.values["school"] ?? ""), error: error("school"), lang: lang),
            Forms.field(.init(name: "grade", label: StaffText.grade, value: model.values["grade"] ?? ""), error: error("grade"), lang: lang),
            Forms.field(.init(name: "class", label: StaffText.className, value: model.values["class"] ?? ""), error: error("class"), lang: lang),
            Forms.submit(StaffText.create, lang: lang),
        ]))
        return frame(StaffText.newStaff, lang: lang, path: "/staff/new", main)
    }

    static func outbox(_ entries: [OutboxEntryView], lang: Lang, csrf: String, canRetry: Bool, notice: String?) -> HTML {
        var main: [Node<HTML.BodyContext>] = []
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        if entries.isEmpty {
            main.append(.p(.text(StaffText.none(lang))))
        } else {
            main.append(table(
                [StaffText.template(lang), StaffText.recipient(lang), StaffText.attempts(lang), StaffText.lastError(lang), StaffText.filedAt(lang), ""],
                entries.map { entry in [
                    .text("\(entry.channel) · \(entry.template)"), .text(entry.to), .text("\(entry.attempts)"), .text(entry.lastError ?? "—"),
                    .text(time(entry.createdAt)),
                    canRetry ? Forms.form(action: "/staff/outbox/\(entry.id.lowercasedText)/retry", csrf: csrf,
                                          [Forms.submit(StaffText.retry, lang: lang, primary: false)]) : .text(""),
                ] }
            ))
        }
        return frame(StaffText.outbox, lang: lang, path: "/staff/outbox", main)
    }
}
