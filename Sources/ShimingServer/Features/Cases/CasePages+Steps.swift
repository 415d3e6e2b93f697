import Foundation
import IdentityRules
import Plot
import ShimingCore

/// The step-by-step form: the frame and its fields, documents, check and submit.
extension CasePages {
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

    static func stepPath(_ item: Case, _ step: Step) -> String { "/cases/\(item.id.lowercasedText)/edit/\(step.rawValue)" }

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

    static func documents(_ model: Model) -> HTML {
        let lang = model.lang, id = model.item.id.lowercasedText
        var content: [Node<HTML.BodyContext>] = [.p(.class("hint"), .text(fileHint(lang)))]
        for rule in model.program.documents {
            let files = model.item.documents.filter { $0.kind == rule.kind.rawValue }
            var card: [Node<HTML.BodyContext>] = [.h3(.text(rule.kind.label(lang) + (rule.required ? "" : optional(lang))))]
            if files.isEmpty { card.append(.p(.text(notUploaded(lang)))) }
            for file in files {
                let path = "/cases/\(id)/documents/\(file.id.lowercasedText)"
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
        content.append(Forms.form(action: "/cases/\(model.item.id.lowercasedText)/submit", csrf: model.csrf, [Forms.submit(submit, lang: lang)]))
        return frame(model, step: .review, content)
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
}
