import Fluent
import Foundation
import IdentityRules
import NIOFoundationCompat
import ShimingCore
import Vapor

/// `/api/v1/cases`: the applicant's side of verification (API.md, "Programs and cases").
struct CasesController {
    let features: Features


    static let identitySchema: JSONSchema = .object([
        "name": .string(), "documentType": .string(allowed: Program.IdentityDocument.allCases.map(\.rawValue)),
        "documentNumber": .string(), "gender": .string(allowed: ["male", "female"]), "address": .string(),
    ])
    static let sectionSchemas: [String: JSONSchema] = [
        "identity": identitySchema,
        "contact": .object(["phone": .string(), "email": .string()]),
        "school": .object(["school": .string(), "grade": .string(), "class": .string(), "enrolmentYear": .integer()]),
        "guardian": .object(["name": .string(), "phone": .string(), "relation": .string(), "documentNumber": .string()]),
        "organisation": .object(["name": .string(), "creditCode": .string(), "representative": .string()]),
    ]

    static let schema: JSONSchema = .object([
        "id": .string(format: "uuid"), "program": .string(), "state": .string(allowed: CaseState.allCases.map(\.rawValue)),
        "stateLabel": .string(), "identityCode": .nullable(.string(description: "XXXX-XXXX-XXXX, once verified under a program that issues codes")),
        "identity": .object(["name": .nullable(.string(description: "masked")), "documentType": .nullable(.string()),
                             "documentNumber": .nullable(.string(description: "masked")), "gender": .nullable(.string()),
                             "address": .nullable(.string(description: "masked"))]),
        "contact": .nullable(.object(["phone": .nullable(.string()), "email": .nullable(.string())])),
        "school": .nullable(.object(["school": .nullable(.string()), "grade": .nullable(.string()), "class": .nullable(.string()),
                                     "enrolmentYear": .nullable(.integer())])),
        "guardian": .nullable(.object(["name": .nullable(.string()), "phone": .nullable(.string()), "relation": .nullable(.string()),
                                       "documentNumber": .nullable(.string())])),
        "organisation": .nullable(.object(["name": .nullable(.string()), "creditCode": .nullable(.string()), "representative": .nullable(.string())])),
        "documents": .array(.ref("StoredFile")),
        "checks": .array(.object(["check": .string(), "code": .string(), "passed": .boolean(), "reason": .string(), "field": .nullable(.string()),
                                  "matched": .nullable(.array(.string())), "differed": .nullable(.array(.string()))],
                                 required: ["check", "code", "passed", "reason"])),
        "decision": .nullable(.object(["outcome": .string(), "rule": .string(),
                                       "reasons": .array(.object(["code": .string(), "field": .nullable(.string()), "message": .string()],
                                                                 required: ["code", "message"])),
                                       "decidedBy": .string(allowed: ["system", "staff"]), "decidedAt": .string(format: "date-time"),
                                       "message": .nullable(.string(description: "the reviewer's words to the applicant"))],
                                      required: ["outcome", "rule", "reasons", "decidedBy", "decidedAt"])),
        "history": .array(.object(["state": .string(), "action": .string(), "at": .string(format: "date-time"),
                                   "by": .string(allowed: ["applicant", "staff", "system"]), "rule": .nullable(.string())],
                                  required: ["state", "action", "at", "by"])),
        "guardianConsent": .boolean(),
        "confirmationExpiresAt": .nullable(.string(format: "date-time")), "submittedAt": .nullable(.string(format: "date-time")),
        "verifiedAt": .nullable(.string(format: "date-time")), "expiresAt": .nullable(.string(format: "date-time")),
        "createdAt": .string(format: "date-time"), "updatedAt": .string(format: "date-time"),
    ], required: ["id", "program", "state", "stateLabel", "identity", "documents", "checks", "history", "guardianConsent", "createdAt", "updatedAt"])

    static let components: [String: JSONSchema] = ["Case": schema, "StoredFile": ChangeRequestsController.fileSchema]

    func register(_ routes: any RoutesBuilder) {
        let cases = routes.grouped("api", "v1", "cases")
        var createBody = Self.sectionSchemas
        createBody["program"] = .string()
        createBody["renews"] = .string(format: "uuid")
        createBody["prefill"] = .boolean(description: "verify once: start from the latest verification under another program (default true)")
        cases.on(.POST, documentation: APIOperation(
            "createCase", summary: "Start an application under a program (state draft), or renew a verified or expired one (renews: its id; its details are copied); values are checked on submit", tag: "cases",
            requestBody: .object(createBody, required: ["program"]),
            responses: [201: .init("Created", schema: .ref("Case")), 422: .init("A field is refused (named in fields)")],
            components: Self.components, access: .signedIn
        ), use: create)
        cases.on(.GET, documentation: APIOperation(
            "listMyCases", summary: "The caller's cases, newest first (mine=1)", tag: "cases", query: ["mine": .string(allowed: ["1"])],
            responses: [200: .init("Cases", schema: .array(.ref("Case")))], components: Self.components, access: .holder
        ), use: list)
        cases.on(.GET, ":id", documentation: APIOperation(
            "getCase", summary: "One of the caller's cases with checks, decision and history (masked)", tag: "cases",
            responses: [200: .init("The case", schema: .ref("Case"))], components: Self.components, access: .holder
        ), use: get)
        cases.on(.PATCH, ":id", documentation: APIOperation(
            "updateCase", summary: "Edit while draft, submitted, needs_review or returned; an edited needs_review case is checked again", tag: "cases",
            requestBody: .object(Self.sectionSchemas),
            responses: [200: .init("Updated", schema: .ref("Case")), 409: .init("Not editable in this state")],
            components: Self.components, access: .signedIn
        ), use: update)
        cases.on(.POST, ":id", "documents", documentation: APIOperation(
            "addCaseDocument", summary: "Upload a document (JPEG, PNG or PDF by content, within the program's limits); replace=true removes earlier ones of that kind",
            tag: "cases",
            requestBody: .object(["kind": .string(allowed: Program.DocumentKind.allCases.map(\.rawValue)), "file": .string(format: "binary"),
                                  "replace": .string(allowed: ["true", "false"])], required: ["kind", "file"]),
            requestContentType: "multipart/form-data",
            responses: [201: .init("Stored encrypted", schema: .ref("StoredFile"))], components: Self.components, access: .signedIn
        ), body: .stream, use: addDocument)
        cases.on(.GET, ":id", "documents", ":file", documentation: APIOperation(
            "getCaseDocument", summary: "One of the caller's documents", tag: "cases",
            responses: [200: .init("The file", contentType: "application/octet-stream")], access: .holder
        ), use: document)
        cases.on(.POST, ":id", "appeal", documentation: APIOperation(
            "appealCase", summary: "Appeal a frozen or rejected case (once): a review task opens for someone other than the staff member whose decision it contests",
            tag: "cases", requestBody: .object(["reason": .string(description: "4–1000 characters")], required: ["reason"]),
            responses: [200: .init("Appealed", schema: .ref("Case")), 409: .init("invalid_state or already_appealed")],
            components: Self.components, access: .holder
        ), use: appeal)
        cases.on(.DELETE, ":id", "documents", ":file", documentation: APIOperation(
            "removeCaseDocument", summary: "Remove a document while the case is editable", tag: "cases",
            responses: [204: .init("Removed")], access: .signedIn
        ), use: removeDocument)
        cases.on(.POST, ":id", "submit", documentation: APIOperation(
            "submitCase", summary: "Submit: the automatic checks run and decide (approved, returned with reasons, or needs_review)", tag: "cases",
            responses: [200: .init("Checked", schema: .ref("Case")), 429: .init("Application limit reached; see Retry-After")],
            components: Self.components, access: .signedIn
        ), use: submit)
        cases.on(.POST, ":id", "confirm", documentation: APIOperation(
            "confirmCase", summary: "Second confirmation: the code sent after approval; too late or too many wrong codes lock the account", tag: "cases",
            requestBody: .object(["code": .string()], required: ["code"]),
            responses: [200: .init("Verified", schema: .ref("Case")), 403: .init("account_locked")], components: Self.components, access: .signedIn
        ), use: confirm)
        cases.on(.POST, ":id", "confirm", "resend", documentation: APIOperation(
            "resendCaseConfirmation", summary: "A new confirmation code (after the last ran out, or a minute after it was sent)", tag: "cases",
            responses: [200: .init("Sent", schema: .ref("Case"))], components: Self.components, access: .signedIn
        ), use: resend)
        cases.on(.POST, ":id", "guardian-consent", documentation: APIOperation(
            "requestGuardianConsent", summary: "Send the consent text and a code to the guardian's phone (applicants under 14)", tag: "cases",
            responses: [202: .init("Sent", schema: .object(["sent": .boolean()]))], access: .signedIn
        ), use: requestConsent)
        cases.on(.POST, ":id", "guardian-consent", "confirm", documentation: APIOperation(
            "confirmGuardianConsent", summary: "Record the guardian's consent with the code from their phone", tag: "cases",
            requestBody: .object(["code": .string()], required: ["code"]),
            responses: [200: .init("Consent recorded", schema: .ref("Case"))], components: Self.components, access: .signedIn
        ), use: confirmConsent)
    }

    struct CodeInput: Content {
        var code: String?
    }

    struct AppealInput: Content {
        var reason: String?
    }

    @Sendable func appeal(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        let input = try req.content.decode(AppealInput.self)
        let item = try await features.freezes.appeal(caseID: try req.uuidParameter(), account: account,
                                                     reason: input.reason, ip: req.clientIP)
        return CaseView(item, lang: req.lang)
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        let input = try req.content.decode(CaseService.Input.self)
        let item = try await features.cases.create(account: account, input, ip: req.clientIP)
        return try await CaseView(item, lang: req.lang).encodeResponse(status: .created, for: req)
    }

    @Sendable func list(_ req: Request) async throws -> [CaseView] {
        let account = try req.requireAccount()
        return try await features.cases.list(account: account).map { CaseView($0, lang: req.lang) }
    }

    @Sendable func get(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        return CaseView(try await features.cases.own(try req.uuidParameter(), account: account), lang: req.lang)
    }

    @Sendable func update(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        let input = try req.content.decode(CaseService.Input.self)
        let item = try await features.cases.update(try req.uuidParameter(), account: account, input, ip: req.clientIP)
        return CaseView(item, lang: req.lang)
    }

    /// Streamed: the case is found (and must be the caller's and editable) before any of the
    /// body is read, and the file is sealed into the store while it arrives.
    @Sendable func addDocument(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        try account.checkMayAct()
        let service = features.cases
        let current = try await service.own(try req.uuidParameter(), account: account)
        guard current.state.isEditable else { throw CaseService.notEditable(current.state) }
        let program = try service.program(current.program)
        let files = req.shiming.files
        let form = try await StreamedForm.receive(req, into: files, owner: account.id, fields: ["kind", "replace"],
                                                  maxFileBytes: program.largestDocumentBytes)
        let stored = try await files.owning(form.file) {
            guard let file = form.file else { throw AccountError.invalid(["file": "required"]) }
            let replace = form.fields["replace"] ?? "false"
            guard ["true", "false"].contains(replace) else { throw AccountError.invalid(["replace": "invalid_value"]) }
            return try await service.addDocument(to: current.id, account: account, kind: form.fields["kind"], file: file,
                                                 replace: replace == "true", ip: req.clientIP)
        }
        return try await StoredFileView(stored).encodeResponse(status: .created, for: req)
    }

    @Sendable func document(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        let fileID = try req.uuidParameter("file")
        let service = features.cases
        let (file, data) = try await service.document(fileID, of: try await service.own(try req.uuidParameter(), account: account))
        return file.response(data)
    }

    @Sendable func removeDocument(_ req: Request) async throws -> HTTPStatus {
        let account = try req.requireAccount()
        let fileID = try req.uuidParameter("file")
        try await features.cases.removeDocument(fileID, from: try req.uuidParameter(), account: account, ip: req.clientIP)
        return .noContent
    }

    @Sendable func submit(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        return CaseView(try await features.cases.submit(try req.uuidParameter(), account: account, ip: req.clientIP), lang: req.lang)
    }

    @Sendable func confirm(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        let input = try req.content.decode(CodeInput.self)
        let item = try await features.cases.confirm(try req.uuidParameter(), account: account, code: input.code, ip: req.clientIP)
        return CaseView(item, lang: req.lang)
    }

    @Sendable func resend(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        return CaseView(try await features.cases.resendConfirmation(try req.uuidParameter(), account: account, ip: req.clientIP),
                        lang: req.lang)
    }

    struct Sent: Content { var sent: Bool }

    @Sendable func requestConsent(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        try await features.cases.requestGuardianConsent(try req.uuidParameter(), account: account, lang: req.lang, ip: req.clientIP)
        return try await Sent(sent: true).encodeResponse(status: .accepted, for: req)
    }

    @Sendable func confirmConsent(_ req: Request) async throws -> CaseView {
        let account = try req.requireAccount()
        let input = try req.content.decode(CodeInput.self)
        let item = try await features.cases.confirmGuardianConsent(try req.uuidParameter(), account: account,
                                                                   code: input.code, ip: req.clientIP, client: req.consentClient(.api))
        return CaseView(item, lang: req.lang)
    }
}
