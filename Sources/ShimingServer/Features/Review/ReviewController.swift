import Fluent
import Foundation
import ShimingCore
import Vapor

/// `/api/v1/review`: the tasks a staff member may see, claiming and giving them back, duty for
/// round-robin assignment, the case behind a task (with the contact log and the person's
/// earlier cases), revealing a masked value, recording a contact, and the decision.
struct ReviewController {
    let features: Features


    static let taskSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "caseId": .string(format: "uuid"), "program": .string(),
        "state": .string(allowed: ReviewTaskState.allCases.map(\.rawValue)), "routing": .string(allowed: ["pool", "class_teacher", "supervisors"]),
        "reason": .string(), "scope": .nullable(.object(["school": .string(), "grade": .string(), "class": .string()])),
        "dueAt": .string(format: "date-time"), "overdue": .boolean(), "createdAt": .string(format: "date-time"), "outcome": .nullable(.string()),
        "kind": .string(allowed: ["review", "appeal"]), "assigneeId": .nullable(.string(format: "uuid")),
        "claimedAt": .nullable(.string(format: "date-time")), "escalated": .boolean(), "mine": .boolean(),
    ], required: ["id", "caseId", "program", "state", "routing", "reason", "dueAt", "overdue", "createdAt", "kind", "escalated", "mine"])

    static let contactSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "staffId": .string(format: "uuid"), "channel": .string(allowed: ReviewService.contactChannels),
        "note": .string(), "at": .string(format: "date-time"),
    ], required: ["id", "staffId", "channel", "note", "at"])

    func register(_ routes: any RoutesBuilder) {
        let review = routes.grouped("api", "v1", "review")
        var components = CasesController.components
        components["ReviewTask"] = Self.taskSchema
        components["CaseContact"] = Self.contactSchema
        let access = Access.staff(AccessPolicy.reviewCases)
        review.on(.GET, "tasks", documentation: APIOperation(
            "listReviewTasks", summary: "The caller's visible tasks (teachers: their class; reviewers: the pool; supervisors: all, with the supervisors' queue), oldest due first",
            tag: "review", query: ["state": .string(allowed: ReviewTaskState.allCases.map(\.rawValue)), "scope": .string(allowed: ["all", "mine", "unclaimed", "escalated"])],
            responses: [200: .init("Tasks", schema: .array(.ref("ReviewTask")))], components: components, access: access
        ), use: tasks)
        review.on(.POST, "tasks", ":id", "claim", documentation: APIOperation(
            "claimReviewTask", summary: "Claim a task; of two reviewers claiming at once exactly one wins", tag: "review",
            responses: [200: .init("Claimed", schema: .ref("ReviewTask")), 409: .init("task_claimed or task_closed"), 403: .init("conflict_of_interest")],
            components: components, access: access
        ), use: claim)
        review.on(.POST, "tasks", ":id", "release", documentation: APIOperation(
            "releaseReviewTask", summary: "Give a claimed task back to the queue", tag: "review",
            responses: [200: .init("Released", schema: .ref("ReviewTask"))], components: components, access: access
        ), use: release)
        review.on(.POST, "tasks", ":id", "decision", documentation: APIOperation(
            "decideReviewTask", summary: "Approve, reject (reason codes required) or return for correction (reason codes required)", tag: "review",
            requestBody: .object(["outcome": .string(allowed: ["approve", "reject", "return"]),
                                  "reasons": .array(.string()), "note": .string(description: "for staff only, never shown to the applicant"),
                                  "fields": .object([:], additional: .string(description: "reason code → the field or document it is about (documents.id_front); the applicant's edit button opens that step")),
                                  "message": .string(description: "at most 500 characters the applicant reads with the reasons")],
                                 required: ["outcome"]),
            responses: [200: .init("Decided; the case after the decision", schema: .ref("Case")),
                        403: .init("conflict_of_interest or four_eyes_required"), 409: .init("task_claimed or task_closed")],
            components: components, access: access
        ), use: decide)
        review.on(.GET, "reasons", documentation: APIOperation(
            "listReviewReasons", summary: "The reason codes a reviewer may give, with the text the applicant reads", tag: "review",
            responses: [200: .init("Reasons", schema: .array(.object(["code": .string(), "text": .string()], required: ["code", "text"])))],
            access: access
        ), use: reasons)
        review.on(.PUT, "duty", documentation: APIOperation(
            "setReviewDuty", summary: "Go on or off duty for round-robin assignment", tag: "review",
            requestBody: .object(["onDuty": .boolean()], required: ["onDuty"]),
            responses: [200: .init("Duty", schema: .object(["onDuty": .boolean(), "since": .nullable(.string(format: "date-time"))], required: ["onDuty"]))],
            access: access
        ), use: duty)
        review.on(.GET, "cases", ":id", documentation: APIOperation(
            "getReviewCase", summary: "The case behind a visible task (masked), the task, the contact log and the person's other cases; audited", tag: "review",
            responses: [200: .init("The case for review", schema: .object([
                "case": .ref("Case"), "task": .ref("ReviewTask"), "contacts": .array(.ref("CaseContact")),
                "related": .array(.object(["id": .string(format: "uuid"), "accountId": .string(format: "uuid"), "program": .string(), "state": .string(), "sameAccount": .boolean(),
                                           "decision": .nullable(.object([:])), "createdAt": .string(format: "date-time")])),
                "appeal": .nullable(.object(["contests": .string(allowed: ["freeze", "rejection"]), "reason": .string(),
                                             "createdAt": .string(format: "date-time"), "outcome": .nullable(.string())],
                                            required: ["contests", "reason", "createdAt"])),
            ], required: ["case", "task", "contacts", "related"]))], components: components, access: access
        ), use: viewCase)
        review.on(.GET, "cases", ":id", "documents", ":file", documentation: APIOperation(
            "getReviewCaseDocument", summary: "A document of a visible case; the view is audited", tag: "review",
            responses: [200: .init("The file", contentType: "application/octet-stream")], access: access
        ), use: document)
        review.on(.POST, "cases", ":id", "reveal", documentation: APIOperation(
            "revealCaseField", summary: "One unmasked value of a visible case, for a stated purpose; audited", tag: "review",
            requestBody: .object(["field": .string(allowed: ReviewService.revealable.keys.sorted()), "purpose": .string()], required: ["field", "purpose"]),
            responses: [200: .init("The value", schema: .object(["field": .string(), "value": .string()], required: ["field", "value"]))],
            access: access
        ), use: reveal)
        review.on(.POST, "cases", ":id", "contacts", documentation: APIOperation(
            "recordCaseContact", summary: "Record a contact with the applicant (phone, sms, email, in_person) and what was said", tag: "review",
            requestBody: .object(["channel": .string(allowed: ReviewService.contactChannels), "note": .string(pattern: "\\S")], required: ["channel", "note"]),
            responses: [201: .init("Recorded", schema: .ref("CaseContact"))], components: components, access: access
        ), use: recordContact)
    }

    /// The tasks in a state that the staff member may see, narrowed by scope, oldest due first.
    @Sendable func tasks(_ req: Request) async throws -> [ReviewTaskView] {
        let staff = try req.requireAccount()
        let state = ReviewTaskState(rawValue: req.query[String.self, at: "state"] ?? "open")
        let scope = req.query[String.self, at: "scope"] ?? "all"
        var fields: [String: String] = [:]
        if state == nil { fields["state"] = "invalid_value" }
        if !ReviewService.taskScopes.contains(scope) { fields["scope"] = "invalid_value" }
        guard let state, fields.isEmpty else { throw AccountError.invalid(fields) }
        return try await features.review.visibleTasks(staff: staff, state: state, scope: scope)
    }

    @Sendable func claim(_ req: Request) async throws -> ReviewTaskView {
        let staff = try req.requireAccount()
        let task = try await features.review.claim(try req.uuidParameter(), staff: staff, ip: req.clientIP)
        return ReviewTaskView(task, now: req.now, viewer: staff.id)
    }

    @Sendable func release(_ req: Request) async throws -> ReviewTaskView {
        let staff = try req.requireAccount()
        let task = try await features.review.release(try req.uuidParameter(), staff: staff, ip: req.clientIP)
        return ReviewTaskView(task, now: req.now, viewer: staff.id)
    }

    struct ReasonBody: Content {
        var code: String
        var text: String
    }

    @Sendable func reasons(_ req: Request) async throws -> [ReasonBody] {
        req.shiming.reviewReasons.reasons.map { ReasonBody(code: $0.code, text: $0.text(req.lang)) }
    }

    struct DutyBody: Content {
        var onDuty: Bool
        var since: Date?
    }

    @Sendable func duty(_ req: Request) async throws -> DutyBody {
        let staff = try req.requireAccount()
        guard let onDuty = try? req.content.get(Bool.self, at: "onDuty") else { throw AccountError.invalid(["onDuty": "required"]) }
        let since = try await features.review.setDuty(onDuty, staff: staff, ip: req.clientIP)
        return DutyBody(onDuty: since != nil, since: since)
    }

    @Sendable func viewCase(_ req: Request) async throws -> ReviewCaseView {
        try await features.review.caseView(try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP, lang: req.lang)
    }

    /// A document of a visible case (`:id`, `:file`); the view is audited.
    @Sendable func document(_ req: Request) async throws -> Response {
        let (file, data) = try await features.review.document(
            try req.uuidParameter("file"), caseID: try req.uuidParameter(), staff: try req.requireAccount(), ip: req.clientIP)
        return file.response(data)
    }

    struct RevealInput: Content {
        var field: String?
        var purpose: String?
    }

    struct RevealBody: Content {
        var field: String
        var value: String
    }

    @Sendable func reveal(_ req: Request) async throws -> RevealBody {
        let staff = try req.requireAccount()
        let input = try req.content.decode(RevealInput.self)
        let value = try await features.review.reveal(caseID: try req.uuidParameter(), field: input.field,
                                                     purpose: input.purpose, staff: staff, ip: req.clientIP)
        return RevealBody(field: input.field ?? "", value: value)
    }

    struct ContactInput: Content {
        var channel: String?
        var note: String?
    }

    @Sendable func recordContact(_ req: Request) async throws -> Response {
        let staff = try req.requireAccount()
        let input = try req.content.decode(ContactInput.self)
        let contact = try await features.review.recordContact(caseID: try req.uuidParameter(), channel: input.channel,
                                                              note: input.note, staff: staff, ip: req.clientIP)
        return try await CaseContactView(contact).encodeResponse(status: .created, for: req)
    }

    @Sendable func decide(_ req: Request) async throws -> CaseView {
        let staff = try req.requireAccount()
        let taskID = try req.uuidParameter()
        let input = try req.content.decode(ReviewService.Decision.self)
        let item = try await features.review.decide(taskID, staff: staff, input, ip: req.clientIP)
        return CaseView(item, lang: req.lang)
    }
}

extension Notices {
    static func rejected(program: Program, reasons: [String], list: ReviewReasonList, lang: Lang) -> String {
        let texts = reasons.compactMap { list.text($0)?(lang) }.joined(separator: " ")
        return LocalizedText("您的「\(program.title.zh)」申请未通过。", "Your \(program.title.en) application was not approved. ")(lang) + texts
    }
}
