import Fluent
import Foundation
import ShimingCore
import Vapor

/// `/api/v1/review`: the tasks a staff member may see, claiming and giving them back, duty for
/// round-robin assignment, the case behind a task (with the contact log and the person's
/// earlier cases), revealing a masked value, recording a contact, and the decision.
struct ReviewController {

    struct TaskBody: Content {
        var id: UUID
        var caseId: UUID
        var program: String
        var state: String
        var routing: String
        var reason: String
        var scope: ClassScopeBody?
        var dueAt: Date
        var overdue: Bool
        var createdAt: Date
        var outcome: String?
        var kind: String
        var assigneeId: UUID?
        var claimedAt: Date?
        var escalated: Bool
        var mine: Bool

        struct ClassScopeBody: Content {
            var school: String
            var grade: String
            var `class`: String
        }

        init(_ task: ReviewTaskRecord, now: Date, viewer: UUID? = nil) throws {
            id = try task.requireID()
            caseId = task.caseID
            program = task.program
            state = task.state
            routing = task.routing
            reason = task.reason
            if let school = task.scopeSchool, let grade = task.scopeGrade, let klass = task.scopeClass {
                scope = ClassScopeBody(school: school, grade: grade, class: klass)
            }
            dueAt = task.dueAt
            overdue = task.state == "open" && task.dueAt < now
            createdAt = task.createdAt
            outcome = task.outcome
            kind = task.kind ?? "review"
            assigneeId = task.assigneeID
            claimedAt = task.claimedAt
            escalated = task.escalatedAt != nil
            mine = viewer != nil && task.assigneeID == viewer
        }
    }

    static let taskSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "caseId": .string(format: "uuid"), "program": .string(),
        "state": .string(allowed: ["open", "done", "cancelled"]), "routing": .string(allowed: ["pool", "class_teacher", "supervisors"]),
        "reason": .string(), "scope": .nullable(.object(["school": .string(), "grade": .string(), "class": .string()])),
        "dueAt": .string(format: "date-time"), "overdue": .boolean(), "createdAt": .string(format: "date-time"), "outcome": .nullable(.string()),
        "kind": .string(allowed: ["review", "appeal"]), "assigneeId": .nullable(.string(format: "uuid")),
        "claimedAt": .nullable(.string(format: "date-time")), "escalated": .boolean(), "mine": .boolean(),
    ], required: ["id", "caseId", "program", "state", "routing", "reason", "dueAt", "overdue", "createdAt", "kind", "escalated", "mine"])

    struct ContactBody: Content {
        var id: UUID
        var staffId: UUID
        var channel: String
        var note: String
        var at: Date

        init(_ contact: ReviewService.Contact) {
            (id, staffId, channel, note, at) = (contact.id, contact.staffID, contact.channel, contact.note, contact.at)
        }
    }

    static let contactSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "staffId": .string(format: "uuid"), "channel": .string(allowed: ReviewService.contactChannels),
        "note": .string(), "at": .string(format: "date-time"),
    ], required: ["id", "staffId", "channel", "note", "at"])

    /// What a reviewer sees of a case: the case (masked), its current task, the contact log, and
    /// the same person's other cases with their decisions.
    struct ReviewCaseBody: Content {
        var `case`: CasesController.CaseBody
        var task: TaskBody
        var contacts: [ContactBody]
        var related: [Related]
        /// When the task is an appeal: what it contests and the applicant's words.
        var appeal: Appeal?

        struct Appeal: Content {
            /// `freeze` or `rejection`.
            var contests: String
            var reason: String
            var createdAt: Date
            var outcome: String?
        }

        struct Related: Content {
            var id: UUID
            var accountId: UUID
            var program: String
            var state: String
            var sameAccount: Bool
            var decision: CasesController.CaseBody.Decision?
            var createdAt: Date
        }
    }

    func register(_ routes: any RoutesBuilder) {
        let review = routes.grouped("api", "v1", "review")
        var components = CasesController.components
        components["ReviewTask"] = Self.taskSchema
        components["CaseContact"] = Self.contactSchema
        let access = Access.staff(AccessPolicy.reviewCases)
        review.on(.GET, "tasks", documentation: APIOperation(
            "listReviewTasks", summary: "The caller's visible tasks (teachers: their class; reviewers: the pool; supervisors: all, with the supervisors' queue), oldest due first",
            tag: "review", query: ["state": .string(allowed: ["open", "done", "cancelled"]), "scope": .string(allowed: ["all", "mine", "unclaimed", "escalated"])],
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
            requestBody: .object(["channel": .string(allowed: ReviewService.contactChannels), "note": .string()], required: ["channel", "note"]),
            responses: [201: .init("Recorded", schema: .ref("CaseContact"))], components: components, access: access
        ), use: recordContact)
    }

    @Sendable func tasks(_ req: Request) async throws -> [TaskBody] {
        let staff = try req.requireAccount()
        let state = req.query[String.self, at: "state"] ?? "open"
        let scope = req.query[String.self, at: "scope"] ?? "all"
        var fields: [String: String] = [:]
        if !["open", "done", "cancelled"].contains(state) { fields["state"] = "invalid_value" }
        if !["all", "mine", "unclaimed", "escalated"].contains(scope) { fields["scope"] = "invalid_value" }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        return try await Self.visibleTasks(staff: staff, state: state, scope: scope, on: req.db, now: req.now)
    }

    /// The tasks in a state that the staff member may see, narrowed by scope, oldest due first.
    static func visibleTasks(staff: Account, state: String, scope: String, on db: any Database, now: Date) async throws -> [TaskBody] {
        var query = ReviewTaskRecord.query(on: db).filter(\.$state == state)
        switch scope {
        case "mine": query = query.filter(\.$assigneeID == staff.id)
        case "unclaimed": query = query.filter(\.$assigneeID == nil)
        case "escalated": query = query.filter(\.$escalatedAt != nil)
        default: break
        }
        let rows = try await query.sort(\.$dueAt).limit(2000).all()
        return try rows.filter { ReviewTasks.visible($0, to: staff) }.prefix(500).map { try TaskBody($0, now: now, viewer: staff.id) }
    }

    func taskID(_ req: Request) throws -> UUID {
        guard let id = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        return id
    }

    @Sendable func claim(_ req: Request) async throws -> TaskBody {
        let staff = try req.requireAccount()
        let task = try await ReviewService(application: req.application).claim(try taskID(req), staff: staff, ip: req.clientIP)
        return try TaskBody(task, now: req.now, viewer: staff.id)
    }

    @Sendable func release(_ req: Request) async throws -> TaskBody {
        let staff = try req.requireAccount()
        let task = try await ReviewService(application: req.application).release(try taskID(req), staff: staff, ip: req.clientIP)
        return try TaskBody(task, now: req.now, viewer: staff.id)
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
        let since = try await ReviewService(application: req.application).setDuty(onDuty, staff: staff, ip: req.clientIP)
        return DutyBody(onDuty: since != nil, since: since)
    }

    static func audit(_ req: Request, _ action: String, staff: Account, caseID: UUID, details: [String: String] = [:]) async throws {
        try await AuditLog.recordAlone(action, actor: .staff(staff.id), subject: CaseService.subject(caseID), ip: req.clientIP, details: details,
                                       at: req.now, gate: req.shiming.writeGate, on: req.db)
    }

    @Sendable func viewCase(_ req: Request) async throws -> ReviewCaseBody {
        try await Self.caseView(req, staff: try req.requireAccount(), caseID: try req.uuidParameter())
    }

    /// The case behind a visible task as a reviewer sees it (API and page alike); the view is
    /// audited and counts as work on a claimed task.
    static func caseView(_ req: Request, staff: Account, caseID: UUID) async throws -> ReviewCaseBody {
        let service = ReviewService(application: req.application)
        let (task, record) = try await service.visibleCase(caseID, staff: staff)
        let item = try await service.cases.load(record)
        try await Self.audit(req, "case.viewed", staff: staff, caseID: item.id)
        try await service.touch(caseID: item.id, staff: staff)
        var related: [ReviewCaseBody.Related] = []
        var others = try await CaseRecord.query(on: req.db).filter(\.$accountID == record.accountID).filter(\.$id != item.id).all()
        if let index = record.numberIndex {
            others += try await CaseRecord.query(on: req.db).filter(\.$numberIndex == index).filter(\.$accountID != record.accountID).all()
        }
        for other in others.sorted(by: { $0.createdAt > $1.createdAt }).prefix(20) {
            let body = CasesController.CaseBody(try await service.cases.load(other), lang: req.lang)
            related.append(.init(id: body.id, accountId: other.accountID, program: body.program, state: body.state, sameAccount: other.accountID == record.accountID,
                                 decision: body.decision, createdAt: body.createdAt))
        }
        var appeal: ReviewCaseBody.Appeal?
        if task.kind == "appeal", let (record, reason) = try await FreezeService(cases: service.cases).appeal(forTask: try task.requireID()) {
            appeal = .init(contests: record.contests, reason: reason, createdAt: record.createdAt, outcome: record.outcome)
        }
        return ReviewCaseBody(case: CasesController.CaseBody(item, lang: req.lang), task: try TaskBody(task, now: req.now, viewer: staff.id),
                              contacts: try await service.contacts(caseID: item.id).map(ContactBody.init), related: related, appeal: appeal)
    }

    @Sendable func document(_ req: Request) async throws -> Response {
        try await Self.document(req, staff: try req.requireAccount())
    }

    /// A document of a visible case (`:id`, `:file`); the view is audited.
    static func document(_ req: Request, staff: Account) async throws -> Response {
        guard let fileID = req.parameters.get("file", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        let service = ReviewService(application: req.application)
        let (_, record) = try await service.visibleCase(try req.uuidParameter(), staff: staff)
        let item = try await service.cases.load(record)
        let (file, data) = try await service.cases.document(fileID, of: item)
        try await Self.audit(req, "case.document_viewed", staff: staff, caseID: item.id, details: ["file": fileID.uuidString.lowercased()])
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
        let value = try await ReviewService(application: req.application).reveal(caseID: try req.uuidParameter(), field: input.field,
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
        let contact = try await ReviewService(application: req.application).recordContact(caseID: try req.uuidParameter(), channel: input.channel,
                                                                                          note: input.note, staff: staff, ip: req.clientIP)
        return try await ContactBody(contact).encodeResponse(status: .created, for: req)
    }

    struct DecisionInput: Content {
        var outcome: String
        var reasons: [String]?
        var note: String?
        /// For each reason, the field or document it is about (`{"document_unreadable": "documents.id_front"}`).
        var fields: [String: String]? = nil
        /// Words the applicant reads with the reasons (return or reject).
        var message: String? = nil
    }

    @Sendable func decide(_ req: Request) async throws -> CasesController.CaseBody {
        let staff = try req.requireAccount()
        guard let taskID = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        let input = try req.content.decode(DecisionInput.self)
        let item = try await ReviewService(application: req.application).decide(taskID, staff: staff, input, ip: req.clientIP)
        return CasesController.CaseBody(item, lang: req.lang)
    }
}

extension Notices {
    static func rejected(program: Program, reasons: [String], list: ReviewReasonList, lang: Lang) -> String {
        let texts = reasons.compactMap { list.text($0)?(lang) }.joined(separator: " ")
        return LocalizedText("您的「\(program.title.zh)」申请未通过。", "Your \(program.title.en) application was not approved. ")(lang) + texts
    }
}
