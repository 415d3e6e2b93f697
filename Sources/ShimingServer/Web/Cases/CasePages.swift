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
    }

    // MARK: List

    static func list(_ cases: [Case], programs: [Program], csrf: String, lang: Lang, notice: String?, mayStart: Bool = true) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        if let notice { main.append(Forms.notice(notice, kind: "error")) }
        if cases.isEmpty { main.append(.p(.text(none(lang)))) }
        for item in cases {
            let name = programs.first { $0.key == item.program }?.title(lang) ?? item.program
            main.append(Forms.element("section", [("class", "card"), ("data-case", item.id.uuidString.lowercased())], [
                .h2(.text(name)),
                .p(Forms.element("strong", [("class", "state"), ("data-state", item.state.rawValue)], [.text(item.state.label(lang))]),
                   .text(" · \(StaffPages.time(item.updatedAt))")),
                .p(.a(.class("button"), .href("/cases/\(item.id.uuidString.lowercased())"), .text(open(lang)))),
            ]))
        }
        // A frozen holder may read and appeal, not start anything new: no buttons that only lead to a refusal.
        if !mayStart { return Layout.page(title: title, lang: lang, path: "/cases", signedIn: true, main: .group(main)) }
        main.append(.h2(.text(Self.programs(lang))))
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

    // MARK: Steps

    static func stepNav(_ model: Model, current: Step) -> Node<HTML.BodyContext> {
        let steps = Step.steps(for: model.program)
        return Forms.element("ol", [("class", "steps")], steps.enumerated().map { index, step in
            let text = "\(index + 1). \(step.label(model.lang))"
            return step == current
                ? Forms.element("li", [("aria-current", "step")], [.strong(.text(text))])
                : Forms.element("li", [], [.a(.href(stepPath(model.item, step)), .text(text))])
        })
    }

    static func stepPath(_ item: Case, _ step: Step) -> String { "/cases/\(item.id.uuidString.lowercased())/edit/\(step.rawValue)" }

    static func following(_ step: Step, in program: Program) -> Step {
        let steps = Step.steps(for: program)
        guard let index = steps.firstIndex(of: step), index + 1 < steps.count else { return .review }
        return steps[index + 1]
    }

    static func frame(_ model: Model, step: Step, _ content: [Node<HTML.BodyContext>]) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [.h1(.text(model.program.title(lang))), stepNav(model, current: step), .h2(.text(step.label(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        main += content
        return Layout.page(title: model.program.title, lang: lang, path: stepPath(model.item, step), signedIn: true, main: .group(main))
    }

    static func value(_ model: Model, _ name: String, _ current: String?) -> String { model.values[name] ?? current ?? "" }

    static func error(_ model: Model, _ name: String) -> String? {
        guard let code = model.errors[name] else { return nil }
        if code == "not_in_program" { return LocalizedText("本项目不需要这一项。", "This program does not ask for this.")(model.lang) }
        // The same words as the checks on submit: what is wrong and what to do.
        return CheckResult.fix("", code, field: name).reason(model.lang)
    }

    /// What went wrong with an upload, at the document it concerns.
    static func uploadProblem(_ code: String, rule: Program.DocumentRule, lang: Lang) -> String {
        switch code {
        case "document_illegible":
            CheckResult.fix("documents", code, field: "documents.\(rule.kind.rawValue)", detail: String(rule.minimumShortSide)).reason(lang)
        case "required":
            LocalizedText("请先选择「\(rule.kind.label.zh)」的照片或文件，再点上传。", "Choose a photo or file of the \(rule.kind.label.en.lowercased()) first, then upload.")(lang)
        case "unsupported_file_type":
            LocalizedText("「\(rule.kind.label.zh)」只接受 \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) 文件。",
                          "The \(rule.kind.label.en.lowercased()) must be a \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) file.")(lang)
        default:
            "「\(rule.kind.label(lang))」" + Forms.message(for: code, lang: lang)
        }
    }

    static func text(_ model: Model, _ name: String, _ label: LocalizedText, _ current: String?, hint: LocalizedText? = nil,
                     inputMode: String? = nil, autocomplete: String? = nil) -> Node<HTML.BodyContext> {
        Forms.field(.init(name: name, label: label, value: value(model, name, current), autocomplete: autocomplete, inputMode: inputMode, hint: hint),
                    error: error(model, name), lang: model.lang)
    }

    /// A list to choose from that starts at "please choose": nothing is chosen for the person.
    static func choice(_ model: Model, _ name: String, _ label: LocalizedText, _ options: [(String, LocalizedText)], _ current: String?) -> Node<HTML.BodyContext> {
        let options = options.first?.0 == "" ? options : [("", LocalizedText("请选择", "Choose"))] + options
        return ChangeRequestPages.select(name: name, label: label, options: options.map { ($0.0, $0.1(model.lang)) }, selected: value(model, name, current),
                                  error: error(model, name), lang: model.lang)
    }

    /// The questions of the identity and details steps, in order, named as in the API.
    static func questionNames(_ step: Step, program: Program) -> [String] {
        switch step {
        case .identity:
            return ["identity.name", "identity.documentType", "identity.documentNumber"] + (program.identity.gender != .none ? ["identity.gender"] : [])
        case .details:
            return program.sections.flatMap { section -> [String] in
                switch section {
                case .address: ["identity.address"]
                case .school: ["school.school", "school.grade", "school.class", "school.enrolmentYear"]
                case .guardian: ["guardian.name", "guardian.phone", "guardian.relation", "guardian.documentNumber"]
                case .organisation: ["organisation.name", "organisation.creditCode", "organisation.representative"]
                }
            }
        case .documents, .review:
            return []
        }
    }

    /// The part of the application a question belongs to, shown above it.
    static func heading(of name: String) -> LocalizedText? {
        if name.hasPrefix("school.") { return LocalizedText("学校", "School") }
        if name.hasPrefix("guardian.") { return LocalizedText("监护人", "Guardian") }
        if name.hasPrefix("organisation.") { return LocalizedText("机构", "Organisation") }
        return nil
    }

    /// One question's field.
    static func question(_ model: Model, _ name: String) -> Node<HTML.BodyContext> {
        let app = model.item.application, program = model.program
        let label = CheckReasons.fieldLabel(name)
        switch name {
        case "identity.name":
            return text(model, name, label, app.identity.name, hint: LocalizedText("与证件上的姓名完全一致。", "Exactly as on the document."), autocomplete: "name")
        case "identity.documentType":
            return choice(model, name, label, program.identity.documentTypes.map { ($0.rawValue, $0.label) }, app.identity.documentType)
        case "identity.documentNumber":
            return text(model, name, label, app.identity.documentNumber,
                        hint: LocalizedText("身份证号码为 18 位，最后一位可能是 X。", "A resident ID number has 18 characters; the last may be X."))
        case "identity.gender": return choice(model, name, label, genders, app.identity.gender)
        case "identity.address": return text(model, name, label, app.identity.address, autocomplete: "street-address")
        case "school.school": return rollChoice(model, name, label, app.school?.school)
        case "school.grade": return rollChoice(model, name, label, app.school?.grade)
        case "school.class": return rollChoice(model, name, label, app.school?.class)
        case "school.enrolmentYear": return text(model, name, label, app.school?.enrolmentYear.map(String.init), inputMode: "numeric")
        case "guardian.name": return text(model, name, label, app.guardian?.name)
        case "guardian.phone": return text(model, name, label, app.guardian?.phone, inputMode: "tel")
        case "guardian.relation": return choice(model, name, label, relations, app.guardian?.relation)
        case "guardian.documentNumber":
            return text(model, name, LocalizedText("监护人身份证号码（可选）", "Guardian's ID number (optional)"), app.guardian?.documentNumber)
        case "organisation.name": return text(model, name, label, app.organisation?.name)
        case "organisation.creditCode":
            return text(model, name, label, app.organisation?.creditCode, hint: LocalizedText("营业执照上的 18 位代码。", "The 18-character code on the business licence."))
        case "organisation.representative":
            return text(model, name, label, app.organisation?.representative,
                        hint: LocalizedText("机构的负责人，也就是填写上面证件信息的人。", "The person in charge of the organisation: the one whose document is given above."))
        default: return .empty
        }
    }

    /// School, grade and class: chosen from the imported roll where there is one, typed otherwise.
    static func rollChoice(_ model: Model, _ name: String, _ label: LocalizedText, _ current: String?) -> Node<HTML.BodyContext> {
        let offered = switch name {
        case "school.school": model.rollSchools
        case "school.grade": model.rollGrades
        default: model.rollClasses
        }
        guard !offered.isEmpty else { return text(model, name, label, current) }
        var options = offered.map { ($0, LocalizedText($0, $0)) }
        if let current, !current.isEmpty, !offered.contains(current) { options.append((current, LocalizedText(current, current))) }
        return choice(model, name, label, options, current)
    }

    /// A step's questions: all on one page, or — in large type — one per page (`?q=`), each
    /// saved on its own.
    static func questions(_ model: Model, step: Step) -> HTML {
        let lang = model.lang
        let names = questionNames(step, program: model.program)
        var fields: [Node<HTML.BodyContext>] = []
        if PageMode.elder, names.count > 1 {
            let index = min(max(model.question ?? 0, 0), names.count - 1)
            let name = names[index]
            if let heading = heading(of: name) { fields.append(.h3(.text(heading(lang)))) }
            fields.append(.p(.class("hint"), .id("question-count"),
                             .text(LocalizedText("第 \(index + 1) 项，共 \(names.count) 项", "Question \(index + 1) of \(names.count)")(lang))))
            fields.append(question(model, name))
            fields.append(Forms.void("input", [("type", "hidden"), ("name", "_q"), ("value", String(index))]))
            fields.append(Forms.submit(index + 1 < names.count ? nextQuestion : next, lang: lang))
            if index > 0 {
                fields.append(.p(.a(.href(stepPath(model.item, step) + "?q=\(index - 1)"), .text(previousQuestion(lang)))))
            }
        } else {
            var shown: String?
            for name in names {
                if let heading = heading(of: name), heading.zh != shown {
                    fields.append(.h3(.text(heading(lang))))
                    shown = heading.zh
                }
                fields.append(question(model, name))
            }
            fields.append(Forms.submit(next, lang: lang))
        }
        return frame(model, step: step, [Forms.form(action: stepPath(model.item, step), csrf: model.csrf, fields)])
    }

    static func identity(_ model: Model) -> HTML { questions(model, step: .identity) }

    static func details(_ model: Model) -> HTML { questions(model, step: .details) }

    static func documents(_ model: Model) -> HTML {
        let lang = model.lang, id = model.item.id.uuidString.lowercased()
        var content: [Node<HTML.BodyContext>] = [.p(.class("hint"), .text(fileHint(lang)))]
        for rule in model.program.documents {
            let files = model.item.documents.filter { $0.kind == rule.kind.rawValue }
            var card: [Node<HTML.BodyContext>] = [.h3(.text(rule.kind.label(lang) + (rule.required ? "" : optional(lang))))]
            if files.isEmpty { card.append(.p(.text(notUploaded(lang)))) }
            for file in files {
                let path = "/cases/\(id)/documents/\(file.id.uuidString.lowercased())"
                var row: [Node<HTML.BodyContext>] = []
                if file.format != .pdf {
                    row.append(Forms.void("img", [("src", path), ("alt", rule.kind.label(lang)), ("class", "thumb")]))
                }
                row.append(.p(.text("\(uploaded(lang)) · \(file.format.rawValue.uppercased()) · \(file.size / 1024) KB"
                                    + (file.width.map { " · \($0)×\(file.height ?? 0)" } ?? ""))))
                row.append(Forms.form(action: "\(path)/delete", csrf: model.csrf, [Forms.submit(remove, lang: lang, primary: false)]))
                card.append(Forms.element("div", [("class", "document"), ("data-kind", rule.kind.rawValue)], row))
            }
            // One tap opens the camera; a second form takes a picture or PDF already on the phone.
            // With the script, choosing uploads at once with a progress bar; without it, the button does.
            let fieldID = "file-\(rule.kind.rawValue)"
            let problem = (model.errors[fieldID] ?? model.errors["documents.\(rule.kind.rawValue)"]).map { uploadProblem($0, rule: rule, lang: lang) }
            card.append(DocumentExamples.figure(rule.kind, lang: lang))
            for (suffix, label, accept, capture) in [("", takePhoto, "image/*", true), ("-choose", chooseFile, "image/jpeg,image/png,application/pdf", false)] {
                let inputID = fieldID + suffix
                var input: [(String, String)] = [("type", "file"), ("id", inputID), ("name", "file"), ("accept", accept)]
                if capture { input.append(("capture", "environment")) }
                if suffix.isEmpty, problem != nil { input += [("aria-invalid", "true"), ("aria-describedby", "\(inputID)-error")] }
                card.append(ChangeRequestPages.uploadForm(action: "/cases/\(id)/edit/documents", csrf: model.csrf, extra: [("data-auto-upload", "1"), ("class", "upload")], [
                    Forms.void("input", [("type", "hidden"), ("name", "kind"), ("value", rule.kind.rawValue)]),
                    Forms.labelled(id: inputID, label: label(lang), error: suffix.isEmpty ? problem : nil, control: Forms.void("input", input)),
                    Forms.element("progress", [("max", "100"), ("value", "0"), ("hidden", "hidden"), ("aria-label", uploading(lang))]),
                    Forms.submit(upload, lang: lang, primary: false),
                ]))
            }
            content.append(Forms.element("section", [("class", "card"), ("id", "document-\(rule.kind.rawValue)")], card))
        }
        content.append(.p(.a(.class("button primary"), .href(stepPath(model.item, .review)), .text(next(lang)))))
        return frame(model, step: .documents, content)
    }

    static func review(_ model: Model) -> HTML {
        let lang = model.lang
        var content: [Node<HTML.BodyContext>] = [summary(model)]
        // A check that could not run is not a task of its own: the missing field is listed.
        let todo = model.preview.filter { !$0.passed && $0.ran }
        if todo.isEmpty {
            content.append(Forms.notice(allReady(lang), kind: "ok"))
        } else {
            content.append(.h3(.text(stillToDo(lang))))
            content.append(Forms.element("ul", [("class", "problems")], todo.map {
                Forms.element("li", [("data-code", $0.code)], [.text($0.reason(lang))])
            }))
        }
        content.append(Forms.form(action: "/cases/\(model.item.id.uuidString.lowercased())/submit", csrf: model.csrf, [Forms.submit(submit, lang: lang)]))
        return frame(model, step: .review, content)
    }

    /// Where the application is on its way: 已提交 → 审核中 → 待确认 → 已认证, with how long a
    /// review usually takes and the help line while the person waits.
    static func progress(_ model: Model) -> Node<HTML.BodyContext> {
        let lang = model.lang, state = model.item.state, program = model.program
        var stages: [(LocalizedText, [CaseState])] = [
            (LocalizedText("已提交", "Submitted"), [.submitted, .checking, .returned]),
            (LocalizedText("审核中", "In review"), [.needsReview, .inReview, .approved, .appealed]),
        ]
        if program.confirmation != nil { stages.append((LocalizedText("待确认", "Confirm"), [.awaitingConfirmation])) }
        stages.append((LocalizedText("已认证", "Verified"), [.verified]))
        guard let current = stages.firstIndex(where: { $0.1.contains(state) }) else { return .empty }
        var nodes: [Node<HTML.BodyContext>] = [
            Forms.element("ol", [("class", "progress"), ("id", "progress")], stages.enumerated().map { index, stage in
                let done = index < current || state == .verified
                var attributes = [("class", done ? "done" : index == current ? "current" : "todo")]
                if index == current { attributes.append(("aria-current", "step")) }
                return Forms.element("li", attributes, [.text((done ? "✓ " : "") + stage.0(lang))])
            }),
        ]
        if [.needsReview, .inReview, .appealed].contains(state) {
            let hours = program.review.dueHours
            let expected = hours >= 24
                ? LocalizedText("一般 \((hours + 23) / 24) 个工作日内处理，结果会短信或邮件通知您。", "Usually handled within \((hours + 23) / 24) working days; you are told by SMS or e-mail.")
                : LocalizedText("一般 \(hours) 小时内处理，结果会短信或邮件通知您。", "Usually handled within \(hours) hours; you are told by SMS or e-mail.")
            nodes.append(.p(.class("expected"), .id("expected-time"), .text(expected(lang))))
        }
        if state != .verified { nodes.append(Layout.helpLine(model.helpPhone, lang: lang)) }
        return .group(nodes)
    }

    /// The stated data, masked as everywhere on screen.
    static func summary(_ model: Model) -> Node<HTML.BodyContext> {
        let lang = model.lang, app = model.item.application
        var rows: [(String, String?)] = [
            ("identity.name", app.identity.name.map(PersonalName.mask)),
            ("identity.documentType", app.identity.documentType.flatMap(Program.IdentityDocument.init(rawValue:))?.label(lang)),
            ("identity.documentNumber", model.item.maskedNumber),
            ("identity.gender", app.identity.gender.flatMap { g in genders.first { $0.0 == g }?.1(lang) }),
            ("identity.address", app.identity.address.map { Masking.keep(first: 6, last: 0, of: $0) }),
            ("school.school", app.school?.school), ("school.grade", app.school?.grade), ("school.class", app.school?.class),
            ("school.enrolmentYear", app.school?.enrolmentYear.map(String.init)),
            ("guardian.name", app.guardian?.name.map(PersonalName.mask)), ("guardian.phone", app.guardian?.phone.map(MobileNumber.mask)),
            ("organisation.name", app.organisation?.name), ("organisation.creditCode", app.organisation?.creditCode),
            ("organisation.representative", app.organisation?.representative.map(PersonalName.mask)),
        ]
        rows = rows.filter { $0.1 != nil }
        for rule in model.program.documents {
            let count = model.item.documents.filter { $0.kind == rule.kind.rawValue }.count
            rows.append(("documents.\(rule.kind.rawValue)", count == 0 ? notUploaded(lang) : "\(uploaded(lang)) \(count)"))
        }
        // What was typed, behind a tap, so it can be compared with the document digit by digit.
        let typed = ["identity.name": app.identity.name, "identity.documentNumber": app.identity.documentNumber]
        return Forms.element("dl", [("class", "facts")], rows.flatMap { field, shown in
            var value: [Node<HTML.BodyContext>] = [.text(shown ?? "")]
            if let full = typed[field] ?? nil {
                value.append(Forms.element("details", [("class", "reveal"), ("data-reveal", field)], [
                    Forms.element("summary", [], [.text(showTyped(lang))]),
                    Forms.element("span", [("class", "typed nowrap")], [.text(full)]),
                ]))
            }
            return [Forms.element("dt", [], [.text(CheckReasons.fieldLabel(field)(lang))]), Forms.element("dd", [("data-field", field)], value)]
        })
    }

    // MARK: Status

    static func status(_ model: Model) -> HTML {
        let lang = model.lang, item = model.item, id = item.id.uuidString.lowercased()
        var main: [Node<HTML.BodyContext>] = [
            .h1(.text(model.program.title(lang))),
            .p(.class("lead"), Forms.element("strong", [("class", "state"), ("id", "case-state"), ("data-state", item.state.rawValue)],
                                             [.text(item.state.label(lang))])),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        main.append(progress(model))
        if let code = item.identityCode {
            main.append(Forms.element("p", [("class", "identity-code")], [.text(fact(identityCode, "", lang)),
                                                                          Forms.element("strong", [("id", "identity-code")], [.text(IdentityCode.format(code))])]))
        }
        if item.state == .verified, let expires = item.expiresAt {
            main.append(.p(.text(fact(validUntil, StaffPages.time(expires), lang))))
        }
        let reasons = item.decisionReasons()
        if [.returned, .rejected, .needsReview].contains(item.state), !reasons.isEmpty {
            main.append(.h2(.text(problems(lang))))
            main.append(Forms.element("ul", [("class", "problems"), ("id", "reasons")], reasons.map {
                Forms.element("li", [("data-code", $0.code)] + ($0.field.map { [("data-field", $0)] } ?? []), [.text($0.message(lang))])
            }))
            if let message = item.decisionMessage {
                main.append(Forms.element("p", [("class", "reviewer-message"), ("id", "reviewer-message")], [.strong(.text(reviewerSays(lang))), .text(message)]))
            }
        }
        if item.state == .awaitingConfirmation {
            var confirm: [Node<HTML.BodyContext>] = [.h2(.text(confirmTitle(lang))), .p(.text(confirmLead(lang)))]
            if let expires = item.confirmationExpiresAt { confirm.append(.p(.strong(.text(fact(confirmBefore, StaffPages.time(expires), lang))))) }
            confirm.append(Forms.form(action: "/cases/\(id)/confirm", csrf: model.csrf, [
                Forms.field(.init(name: "code", label: code, value: "", autocomplete: "one-time-code", inputMode: "numeric"),
                            error: model.errors["code"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                Forms.submit(Self.confirm, lang: lang),
            ]))
            confirm.append(Forms.form(action: "/cases/\(id)/confirm/resend", csrf: model.csrf, [Forms.submit(resend, lang: lang, primary: false)]))
            main.append(Forms.element("section", [("class", "card"), ("id", "confirmation")], confirm))
        }
        if item.state.isEditable, reasons.contains(where: { $0.code == "guardian_consent_missing" }) || (item.guardianConsentAt == nil && model.values["consent"] == "sent") {
            main.append(Forms.element("section", [("class", "card"), ("id", "consent")], [
                .h2(.text(consentTitle(lang))), .p(.text(consentLead(lang))),
                Forms.form(action: "/cases/\(id)/consent", csrf: model.csrf, [Forms.submit(consentSend, lang: lang, primary: false)]),
                Forms.form(action: "/cases/\(id)/consent/confirm", csrf: model.csrf, [
                    Forms.field(.init(name: "code", label: code, value: "", inputMode: "numeric"),
                                error: model.errors["consent"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                    Forms.submit(Self.confirm, lang: lang),
                ]),
            ]))
        } else if item.guardianConsentAt != nil, item.state.isEditable {
            main.append(.p(.text(consentGiven(lang))))
        }
        if item.state.isEditable {
            let label = item.state == .draft ? continueEditing : edit
            // "Change the details" opens the step that holds what has to be fixed.
            let steps = Step.steps(for: model.program)
            let flagged = steps.first { step in item.flaggedFields.contains { Step.holding($0) == step } } ?? .identity
            main.append(.p(.a(.class("button primary"), .id("edit-case"), .href(stepPath(item, flagged)), .text(label(lang)))))
        }
        if item.state == .verified || item.state == .expired {
            main.append(Forms.element("section", [("class", "card"), ("id", "renew")], [
                .p(.text(renewLead(lang))),
                Forms.form(action: "/cases", csrf: model.csrf, [
                    Forms.void("input", [("type", "hidden"), ("name", "program"), ("value", item.program)]),
                    Forms.void("input", [("type", "hidden"), ("name", "renews"), ("value", id)]),
                    Forms.submit(renew, lang: lang, primary: item.state == .expired),
                ]),
            ]))
        }
        if item.state == .frozen || item.state == .rejected, !item.history.contains(where: { $0.action == CaseAction.appeal.name }) {
            main.append(Forms.element("section", [("class", "card"), ("id", "appeal")], [
                .h2(.text(appealTitle(lang))), .p(.text((item.state == .frozen ? appealFrozenLead : appealRejectedLead)(lang))),
                Forms.form(action: "/cases/\(id)/appeal", csrf: model.csrf, [
                    ReviewPages.textarea("reason", appealReason, value: model.values["reason"] ?? "",
                                         error: model.errors["reason"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                    Forms.submit(appealSend, lang: lang),
                ]),
            ]))
        }
        if !item.checks.isEmpty {
            main.append(.h2(.text((item.decision?.decidedBy == "system" ? checks : checksBeforeReview)(lang))))
            main.append(Forms.element("ul", [("class", "checks")], item.checks.map {
                Forms.element("li", [("class", $0.passed ? "passed" : $0.ran ? "failed" : "not-run"), ("data-check", $0.check), ("data-code", $0.code)],
                              [.text(($0.passed ? "✓ " : $0.ran ? "✗ " : "– ") + $0.reason(lang))])
            }))
        }
        main.append(.h2(.text(timeline(lang))))
        main.append(Forms.element("ol", [("class", "timeline")], item.history.map { step in
            Forms.element("li", [("data-state", step.state.rawValue)], [
                .text("\(StaffPages.time(step.at)) · \(step.state.label(lang)) · \(by[step.actorKind]?(lang) ?? step.actorKind)"),
            ])
        }))
        main.append(.p(.a(.href("/cases"), .text(title(lang)))))
        return Layout.page(title: model.program.title, lang: lang, path: "/cases/\(id)", signedIn: true, main: .group(main))
    }
}
