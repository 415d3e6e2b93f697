import Foundation
import IdentityRules
import Plot
import ShimingCore

/// The identity and details questions: all on one page, or one per page in large type.
extension CasePages {
    /// The questions of the identity and details steps, in order, named as in the API (the
    /// documents step uploads files and the last step asks nothing).
    static func questionNames(_ step: Step, program: Program) -> [String] {
        guard step == .identity || step == .details else { return [] }
        return program.fieldNames.filter { Step.holding($0) == step }
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
}
