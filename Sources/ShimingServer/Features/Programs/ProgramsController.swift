import Foundation
import ShimingCore
import Vapor

/// `GET /api/v1/programs` (the `/programs` page is `WebController.programs`).
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
    }

    @Sendable func list(_ req: Request) async throws -> [ProgramBody] {
        req.shiming.programs.programs.map { ProgramBody($0, lang: req.lang) }
    }
}
