import Foundation
import Plot
import ShimingCore

/// The applicant's change-request page: their requests with state and decision, a proof upload
/// for pending ones, and the form for a new request.
enum ChangeRequestPages {
    static let title = LocalizedText("修改登录名、姓名或性别", "Change login name, legal name or gender")
    static let lead = LocalizedText(
        "这三项不能直接修改。请说明原因并上传证明材料（如身份证、户口簿或更名证明的照片或 PDF），工作人员审核后会短信或邮件通知您。",
        "These three cannot be edited directly. Say why and upload proof (a photo or PDF of your ID card, household register or name-change certificate); staff decide and tell you by SMS or e-mail."
    )
    static let newRequest = LocalizedText("提出新的申请", "New request")
    static let myRequests = LocalizedText("我的申请", "My requests")
    static let fieldLabel = LocalizedText("要修改的项目", "What to change")
    static let newValueLabel = LocalizedText("改为", "Change to")
    static let currentValues = LocalizedText("现在的内容：", "What is on record now:")
    static let newValueHint = LocalizedText("性别请填写“男”或“女”。", "For gender, write “male” or “female”.")
    static let reasonLabel = LocalizedText("原因", "Reason")
    static let proofLabel = LocalizedText("证明材料（JPG、PNG 或 PDF，不超过 5 MB）", "Proof (JPG, PNG or PDF, at most 5 MB)")
    static let submit = LocalizedText("提交申请", "Send request")
    static let addProof = LocalizedText("补充证明材料", "Add proof")
    static let filed = LocalizedText("申请已提交，请等待审核。", "Request sent; staff will decide.")
    static let proofAdded = LocalizedText("材料已上传。", "Proof uploaded.")
    static let noRequests = LocalizedText("还没有申请。", "No requests yet.")
    static let proofsCount = LocalizedText("已上传材料", "Proof files")
    static let decisionNote = LocalizedText("审核意见", "Decision note")
    static let needProof = LocalizedText("还需要上传证明材料才能审核。", "Upload proof so that staff can decide.")
    static let states: [ChangeRequestState: LocalizedText] = [
        .pending: LocalizedText("待审核", "Waiting for a decision"),
        .approved: LocalizedText("已通过", "Approved"),
        .rejected: LocalizedText("未通过", "Not approved"),
    ]
    static let genders: [String: LocalizedText] = ["male": LocalizedText("男", "male"), "female": LocalizedText("女", "female")]

    /// What the applicant typed for gender, in either language, as the stored value.
    static func genderValue(_ typed: String) -> String {
        switch typed.trimmingCharacters(in: .whitespaces).lowercased() {
        case "男", "male", "m": "male"
        case "女", "female", "f": "female"
        default: typed
        }
    }

    static func shown(_ request: ChangeRequest, lang: Lang) -> String {
        if request.field == .gender { return genders[request.newValue]?(lang) ?? request.newValue }
        return ChangeRequest.display(request.newValue, field: request.field) ?? ""
    }

    struct Model {
        var lang: Lang
        var csrf: String
        var requests: [ChangeRequest]
        var values: [String: String] = [:]
        var errors: [String: String] = [:]
        var notice: String?
        var noticeKind = "ok"
        var proofErrors: [UUID: String] = [:]
        /// The three fields as they are now.
        var current: [(ChangeRequestField, String)] = []
    }

    static func page(_ model: Model) -> HTML {
        let lang = model.lang
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        main.append(.h2(.text(myRequests(lang))))
        if model.requests.isEmpty { main.append(.p(.text(noRequests(lang)))) }
        for request in model.requests {
            var facts: [Node<HTML.BodyContext>] = [
                Forms.element("dt", [], [.text(fieldLabel(lang))]), Forms.element("dd", [], [.text(request.field.label(lang))]),
                Forms.element("dt", [], [.text(newValueLabel(lang))]), Forms.element("dd", [], [.text(shown(request, lang: lang))]),
                Forms.element("dt", [], [.text(reasonLabel(lang))]), Forms.element("dd", [], [.text(request.reason)]),
                Forms.element("dt", [], [.text(proofsCount(lang))]), Forms.element("dd", [], [.text("\(request.proofs.count)")]),
                Forms.element("dt", [], [.text(StaffText.state(lang))]),
                Forms.element("dd", [("data-state", request.state.rawValue)], [.text(states[request.state]?(lang) ?? "")]),
            ]
            if let note = request.decisionNote {
                facts += [Forms.element("dt", [], [.text(decisionNote(lang))]), Forms.element("dd", [], [.text(note)])]
            }
            var card: [Node<HTML.BodyContext>] = [Forms.element("dl", [("class", "facts")], facts)]
            if request.state == .pending {
                if request.proofs.isEmpty { card.append(Forms.notice(needProof(lang), kind: "error")) }
                if request.proofs.count < ChangeRequestService.maxProofs {
                    card.append(uploadForm(action: "/account/change-requests/\(request.id.lowercasedText)/proofs", csrf: model.csrf, [
                        fileField(name: "file", id: "proof-\(request.id.lowercasedText)", label: addProof,
                                  error: model.proofErrors[request.id], lang: lang),
                        Forms.submit(addProof, lang: lang, primary: false),
                    ]))
                }
            }
            main.append(Forms.element("section", [("class", "card"), ("data-request", request.id.lowercasedText)], card))
        }
        main.append(.h2(.text(newRequest(lang))))
        if !model.current.isEmpty {
            main.append(.p(.strong(.text(currentValues(lang)))))
            main.append(Forms.element("dl", [("class", "facts"), ("id", "current-values")], model.current.flatMap { field, value in
                [Forms.element("dt", [], [.text(field.label(lang))]), Forms.element("dd", [("data-field", field.rawValue)], [.text(value)])]
            }))
        }
        let error = { (field: String) in model.errors[field].map { Forms.message(for: $0, lang: lang) } }
        main.append(uploadForm(action: "/account/change-requests", csrf: model.csrf, [
            select(name: "field", label: fieldLabel, options: ChangeRequestField.allCases.map { ($0.rawValue, $0.label(lang)) },
                   selected: model.values["field"], error: error("field"), lang: lang),
            Forms.field(.init(name: "newValue", label: newValueLabel, value: model.values["newValue"] ?? "", hint: newValueHint, required: true),
                        error: error("newValue"), lang: lang),
            textarea(name: "reason", label: reasonLabel, value: model.values["reason"] ?? "", error: error("reason"), lang: lang),
            fileField(name: "file", id: "field-file", label: proofLabel, error: error("file"), lang: lang),
            Forms.submit(submit, lang: lang),
        ]))
        main.append(.p(.a(.href("/account/profile"), .text(PasswordText.profileTitle(lang)))))
        return Layout.page(title: title, lang: lang, path: "/account/change-requests", signedIn: true, main: .group(main))
    }

    /// A multipart form; its CSRF token rides in the URL too, because the session check runs
    /// before a large upload body has been read.
    static func uploadForm(action: String, csrf: String, extra: [(String, String)] = [], _ children: [Node<HTML.BodyContext>]) -> Node<HTML.BodyContext> {
        Forms.element("form", [("method", "post"), ("action", "\(action)?_csrf=\(csrf)"), ("enctype", "multipart/form-data"), ("novalidate", "novalidate")] + extra,
                      [Forms.void("input", [("type", "hidden"), ("name", "_csrf"), ("value", csrf)])] + children)
    }

    static func fileField(name: String, id: String, label: LocalizedText, error: String?, lang: Lang) -> Node<HTML.BodyContext> {
        var input: [(String, String)] = [("type", "file"), ("id", id), ("name", name), ("accept", "image/jpeg,image/png,application/pdf")]
        if error != nil { input += [("aria-invalid", "true"), ("aria-describedby", "\(id)-error")] }
        return Forms.labelled(id: id, label: label(lang), error: error, control: Forms.void("input", input))
    }

    static func select(name: String, label: LocalizedText, options: [(String, String)], selected: String?, error: String?, lang: Lang) -> Node<HTML.BodyContext> {
        let id = "field-\(name)"
        let control = Forms.element("select", [("id", id), ("name", name)], options.map { value, text in
            Forms.element("option", value == selected ? [("value", value), ("selected", "selected")] : [("value", value)], [.text(text)])
        })
        return Forms.labelled(id: id, label: label(lang), error: error, control: control)
    }

    static func textarea(name: String, label: LocalizedText, value: String, error: String?, lang: Lang) -> Node<HTML.BodyContext> {
        let id = "field-\(name)"
        return Forms.labelled(id: id, label: label(lang), error: error,
                              control: Forms.element("textarea", [("id", id), ("name", name), ("rows", "3")], [.text(value)]))
    }
}
