import Foundation
import Plot
import ShimingCore
import Vapor

/// `GET /api/v1/programs` and the `/programs` page.
struct ProgramsController {
    struct DocumentBody: Content {
        var kind: String
        var required: Bool
        var maxBytes: Int
        var contentTypes: [String]
        var minimumShortSide: Int
    }

    struct ProgramBody: Content {
        var key: String
        /// In the caller's language.
        var title: String
        var description: String
        var subject: String
        /// Identity fields the application must contain.
        var requiredFields: [String]
        var documentTypes: [String]
        var sections: [String]
        var documents: [DocumentBody]
        var registry: [String: [String]]
        var checks: [String]
        var review: [String: String]
        var confirmation: [String: Int]?
        var reverificationMonths: Int?
        var reverificationReminderDays: Int
        var applicationLimit: [String: Int]
        var guardianConsentUnderAge: Int
        var issuesIdentityCode: Bool

        init(_ program: Program, lang: Lang) {
            key = program.key
            title = program.title(lang)
            description = program.description(lang)
            subject = program.subject.rawValue
            var fields = ["name", "documentType", "documentNumber"]
            if program.identity.gender == .required { fields.append("gender") }
            if program.sections.contains(.address) { fields.append("address") }
            requiredFields = fields
            documentTypes = program.identity.documentTypes.map(\.rawValue)
            sections = program.sections.map(\.rawValue)
            documents = program.documents.map {
                DocumentBody(kind: $0.kind.rawValue, required: $0.required, maxBytes: $0.maxBytes,
                             contentTypes: $0.formats.map(\.contentType), minimumShortSide: $0.minimumShortSide)
            }
            registry = ["source": [program.registry.source.rawValue], "match": program.registry.match.map(\.rawValue)]
            checks = program.checks.map(\.rawValue)
            review = ["routing": program.review.routing.rawValue, "mode": program.review.mode.rawValue, "dueHours": String(program.review.dueHours),
                      "assignment": program.review.assignment.rawValue]
            confirmation = program.confirmation.map { ["minutes": $0.minutes, "maxAttempts": $0.maxAttempts] }
            reverificationMonths = program.reverificationMonths
            reverificationReminderDays = program.reverificationReminderDays
            applicationLimit = ["count": program.applicationLimit.count, "days": program.applicationLimit.days]
            guardianConsentUnderAge = program.guardianConsentUnderAge
            issuesIdentityCode = program.issuesIdentityCode
        }
    }

    static let schema: JSONSchema = .object([
        "key": .string(), "title": .string(), "description": .string(),
        "subject": .string(allowed: Program.Subject.allCases.map(\.rawValue)),
        "requiredFields": .array(.string()), "documentTypes": .array(.string(allowed: Program.IdentityDocument.allCases.map(\.rawValue))),
        "sections": .array(.string(allowed: Program.Section.allCases.map(\.rawValue))),
        "documents": .array(.object([
            "kind": .string(allowed: Program.DocumentKind.allCases.map(\.rawValue)), "required": .boolean(), "maxBytes": .integer(),
            "contentTypes": .array(.string()), "minimumShortSide": .integer(),
        ], required: ["kind", "required", "maxBytes", "contentTypes", "minimumShortSide"])),
        "registry": .object(["source": .array(.string(allowed: Program.RegistrySource.allCases.map(\.rawValue))), "match": .array(.string())]),
        "checks": .array(.string(allowed: Program.Check.allCases.map(\.rawValue))),
        "review": .object(["routing": .string(allowed: Program.Routing.allCases.map(\.rawValue)),
                           "mode": .string(allowed: Program.ReviewMode.allCases.map(\.rawValue)), "dueHours": .string(),
                           "assignment": .string(allowed: Program.Assignment.allCases.map(\.rawValue))]),
        "confirmation": .nullable(.object(["minutes": .integer(), "maxAttempts": .integer()])),
        "reverificationMonths": .nullable(.integer()), "reverificationReminderDays": .integer(),
        "applicationLimit": .object(["count": .integer(), "days": .integer()]),
        "guardianConsentUnderAge": .integer(), "issuesIdentityCode": .boolean(),
    ], required: ["key", "title", "description", "subject", "requiredFields", "documentTypes", "sections", "documents", "registry",
                  "checks", "review", "applicationLimit", "guardianConsentUnderAge", "issuesIdentityCode"])

    func register(_ routes: any RoutesBuilder) {
        routes.grouped("api", "v1").on(.GET, "programs", documentation: APIOperation(
            "listPrograms", summary: "The verification programs this deployment offers (titles in the Accept-Language language)", tag: "programs",
            responses: [200: .init("Programs", schema: .array(.ref("Program")))], components: ["Program": Self.schema]
        ), use: list)
        routes.get("programs", use: page)
    }

    @Sendable func list(_ req: Request) async throws -> [ProgramBody] {
        req.shiming.programs.programs.map { ProgramBody($0, lang: req.lang) }
    }

    @Sendable func page(_ req: Request) async throws -> Response {
        WebController.html(ProgramPages.list(req.shiming.programs.programs, lang: req.lang, signedIn: req.authenticated != nil).render())
    }
}

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
