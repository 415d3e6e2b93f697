import Foundation
import Plot
import ShimingCore
import Vapor

/// The page listing the programs and what each asks for.
enum ProgramPages {
    static let title = LocalizedText("认证项目", "Verification programs")
    static let lead = LocalizedText("本站提供以下实名认证项目。每个项目需要的信息和材料如下。",
                                    "This site offers the verification programs below, with what each one asks for.")
    static let needs = LocalizedText("需要准备", "You need")
    static let optional = LocalizedText("（可选）", " (optional)")
    static let reviewDue = LocalizedText("人工审核时限", "Review within")
    static let hours = LocalizedText("小时", "hours")
    static let renew = LocalizedText("复核周期", "Renewed every")
    static let months = LocalizedText("个月", "months")
    static func secondCode(_ minutes: Int) -> LocalizedText {
        LocalizedText("审核通过后，我们会发一个确认码，请在 \(minutes) 分钟内输入。", "After approval we send a confirmation code; enter it within \(minutes) minutes.")
    }
    static let sectionNames: [Program.Section: LocalizedText] = [
        .school: LocalizedText("学校、年级、班级和入学年份", "School, grade, class and enrolment year"),
        .guardian: LocalizedText("监护人信息", "Guardian details"),
        .organisation: LocalizedText("机构名称、统一社会信用代码和负责人", "Organisation name, unified social credit code and representative"),
        .address: LocalizedText("地址", "Address"),
    ]

    static func list(_ programs: [Program], lang: Lang, signedIn: Bool) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(title(lang))), .p(.class("lead"), .text(lead(lang)))]
        for program in programs {
            var items: [String] = [LocalizedText("姓名和证件号码", "Name and identity document number")(lang)]
            items += program.sections.compactMap { sectionNames[$0]?(lang) }
            items += program.documents.map { $0.kind.label(lang) + ($0.required ? "" : optional(lang)) }
            var facts: [String] = ["\(reviewDue(lang)) \(program.review.dueHours) \(hours(lang))"]
            if let period = program.reverificationMonths { facts.append("\(renew(lang)) \(period) \(months(lang))") }
            if let confirmation = program.confirmation { facts.append(secondCode(confirmation.minutes)(lang)) }
            main.append(Forms.element("section", [("class", "card"), ("id", "program-\(program.key)")], [
                .h2(.text(program.title(lang))),
                .p(.text(program.description(lang))),
                .p(.strong(.text(needs(lang)))),
                Forms.element("ul", [], items.map { Forms.element("li", [], [.text($0)]) }),
                .p(.class("hint"), .text(facts.joined(separator: " · "))),
                .p(.a(.class("button"), .href(signedIn ? "/cases#start-\(program.key)" : Request.signInPath(next: "/cases#start-\(program.key)")), .text(CasePages.start(lang)))),
            ]))
        }
        return Layout.page(title: title, lang: lang, path: "/programs", signedIn: signedIn, main: .group(main))
    }
}
