import Fluent
import Foundation
import ShimingCore
import Vapor

/// `/api/v1/review`: the tasks a staff member may see, the case behind a task, and the
/// decision. (Claiming, reassignment, reveal, freezes and figures are the back office's.)
struct ReviewController {
    static let reviewers: Set<StaffRole> = [.reviewer, .teacher, .supervisor, .admin]

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

        struct ClassScopeBody: Content {
            var school: String
            var grade: String
            var `class`: String
        }

        init(_ task: ReviewTaskRecord, now: Date) throws {
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
        }
    }

    static let taskSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "caseId": .string(format: "uuid"), "program": .string(),
        "state": .string(allowed: ["open", "done", "cancelled"]), "routing": .string(allowed: ["pool", "class_teacher"]),
        "reason": .string(), "scope": .nullable(.object(["school": .string(), "grade": .string(), "class": .string()])),
        "dueAt": .string(format: "date-time"), "overdue": .boolean(), "createdAt": .string(format: "date-time"), "outcome": .nullable(.string()),
    ], required: ["id", "caseId", "program", "state", "routing", "reason", "dueAt", "overdue", "createdAt"])

    func register(_ routes: any RoutesBuilder) {
        let review = routes.grouped("api", "v1", "review")
        var components = CasesController.components
        components["ReviewTask"] = Self.taskSchema
        review.on(.GET, "tasks", documentation: APIOperation(
            "listReviewTasks", summary: "The caller's visible tasks (teachers: their class; reviewers: the pool), oldest due first", tag: "review",
            query: ["state": .string(allowed: ["open", "done", "cancelled"])],
            responses: [200: .init("Tasks", schema: .array(.ref("ReviewTask")))], components: components, access: .staff(Self.reviewers)
        ), use: tasks)
        review.on(.POST, "tasks", ":id", "decision", documentation: APIOperation(
            "decideReviewTask", summary: "Approve, reject (reason codes required) or return for correction (reason codes required)", tag: "review",
            requestBody: .object(["outcome": .string(allowed: ["approve", "reject", "return"]),
                                  "reasons": .array(.string(allowed: ReviewReasons.all.map(\.code))), "note": .string()], required: ["outcome"]),
            responses: [200: .init("Decided; the case after the decision", schema: .ref("Case")), 403: .init("conflict_of_interest")],
            components: components, access: .staff(Self.reviewers)
        ), use: decide)
        review.on(.GET, "cases", ":id", documentation: APIOperation(
            "getReviewCase", summary: "The case behind a visible task (masked); the view is audited", tag: "review",
            responses: [200: .init("The case", schema: .ref("Case"))], components: components, access: .staff(Self.reviewers)
        ), use: viewCase)
        review.on(.GET, "cases", ":id", "documents", ":file", documentation: APIOperation(
            "getReviewCaseDocument", summary: "A document of a visible case; the view is audited", tag: "review",
            responses: [200: .init("The file", contentType: "application/octet-stream")], access: .staff(Self.reviewers)
        ), use: document)
    }

    @Sendable func tasks(_ req: Request) async throws -> [TaskBody] {
        let staff = try req.requireAccount()
        let state = req.query[String.self, at: "state"] ?? "open"
        guard ["open", "done", "cancelled"].contains(state) else { throw AccountError.invalid(["state": "invalid_value"]) }
        let rows = try await ReviewTaskRecord.query(on: req.db).filter(\.$state == state).sort(\.$dueAt).limit(2000).all()
        let now = req.now
        return try rows.filter { ReviewTasks.visible($0, to: staff) }.prefix(500).map { try TaskBody($0, now: now) }
    }

    /// The case behind a task the staff member may see; otherwise 404.
    static func visibleCase(_ req: Request, staff: Account) async throws -> (Case, ReviewTaskRecord) {
        let id = try CasesController.caseID(req)
        guard let task = try await ReviewTaskRecord.query(on: req.db).filter(\.$caseID == id).sort(\.$createdAt, .descending).first(),
              ReviewTasks.visible(task, to: staff), let record = try await CaseRecord.find(id, on: req.db) else {
            throw HTTPFailure.error(for: .notFound)
        }
        return (try await CaseService(application: req.application).load(record), task)
    }

    static func audit(_ req: Request, _ action: String, staff: Account, caseID: UUID, details: [String: String] = [:]) async throws {
        try await AuditLog.recordAlone(action, actor: .staff(staff.id), subject: CaseService.subject(caseID), ip: req.clientIP, details: details,
                                       at: req.now, gate: req.shiming.writeGate, on: req.db)
    }

    @Sendable func viewCase(_ req: Request) async throws -> CasesController.CaseBody {
        let staff = try req.requireAccount()
        let (item, _) = try await Self.visibleCase(req, staff: staff)
        try await Self.audit(req, "case.viewed", staff: staff, caseID: item.id)
        return CasesController.CaseBody(item, lang: req.lang)
    }

    @Sendable func document(_ req: Request) async throws -> Response {
        let staff = try req.requireAccount()
        guard let fileID = req.parameters.get("file", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        let (item, _) = try await Self.visibleCase(req, staff: staff)
        let (file, data) = try await CaseService(application: req.application).document(fileID, of: item)
        try await Self.audit(req, "case.document_viewed", staff: staff, caseID: item.id, details: ["file": fileID.uuidString.lowercased()])
        return ChangeRequestsController.fileResponse(file, data)
    }

    struct DecisionInput: Content {
        var outcome: String
        var reasons: [String]?
        var note: String?
    }

    @Sendable func decide(_ req: Request) async throws -> CasesController.CaseBody {
        let staff = try req.requireAccount()
        guard let taskID = req.parameters.get("id", as: UUID.self) else { throw HTTPFailure.error(for: .notFound) }
        let input = try req.content.decode(DecisionInput.self)
        let item = try await ReviewService(application: req.application).decide(taskID, staff: staff, input, ip: req.clientIP)
        return CasesController.CaseBody(item, lang: req.lang)
    }
}

/// A person's decision on a case in review.
struct ReviewService: Sendable {
    let cases: CaseService

    init(application: Application) {
        cases = CaseService(application: application)
    }

    func decide(_ taskID: UUID, staff: Account, _ input: ReviewController.DecisionInput, ip: String?) async throws -> Case {
        var fields: [String: String] = [:]
        let outcome = CaseAction.ReviewOutcome(rawValue: input.outcome)
        if outcome == nil { fields["outcome"] = "invalid_value" }
        let reasons = input.reasons ?? []
        if reasons.contains(where: { ReviewReasons.text($0) == nil }) { fields["reasons"] = "invalid_value" }
        if outcome != .approve, outcome != nil, reasons.isEmpty { fields["reasons"] = "required" }
        let note = input.note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if note.count > 1000 { fields["note"] = "invalid_length" }
        guard let outcome, fields.isEmpty else { throw AccountError.invalid(fields) }

        let db = cases.db, context = cases.context
        guard let task = try await ReviewTaskRecord.find(taskID, on: db), ReviewTasks.visible(task, to: staff) else {
            throw HTTPFailure.error(for: .notFound)
        }
        let now = cases.now
        guard let record = try await CaseRecord.find(task.caseID, on: db) else { throw HTTPFailure.error(for: .notFound) }
        if record.accountID == staff.id {
            try await AuditLog.recordAlone("case.decision_refused", actor: .staff(staff.id), subject: CaseService.subject(task.caseID), ip: ip,
                                           details: ["why": "own_case"], at: now, gate: context.writeGate, on: db)
            throw UserFacingError(code: "conflict_of_interest", kind: .forbidden,
                                  message: LocalizedText("不能审核自己的申请。", "You cannot decide your own application."))
        }
        guard task.state == "open" else {
            throw UserFacingError(code: "task_closed", kind: .conflict, message: LocalizedText("该任务已处理。", "This task has already been decided."))
        }
        let program = try cases.program(record.program)
        guard let accountRecord = try await AccountRecord.find(record.accountID, on: db) else { throw HTTPFailure.error(for: .notFound) }
        let applicant = try accountRecord.account(cipher: context.cipher)
        let noteSealed = note.isEmpty ? nil : try context.cipher.seal(note, context: CaseRecord.noteContext(task.caseID))
        let version = record.version
        try await context.writeGate.transaction(on: db) { [cases] tx in
            guard let task = try await ReviewTaskRecord.find(taskID, on: tx), task.state == "open" else {
                throw UserFacingError(code: "task_closed", kind: .conflict, message: LocalizedText("该任务已处理。", "This task has already been decided."))
            }
            let record = try await CaseService.locked(task.caseID, version: version, on: tx)
            var seq = try await CaseService.nextSeq(task.caseID, on: tx)
            let actor = AuditActor.staff(staff.id)
            if record.state == CaseState.needsReview.rawValue || record.state == CaseState.appealed.rawValue {
                try await cases.apply(.startReview, to: record, actor: actor, rule: nil, at: now, seq: &seq, on: tx)
            }
            try await cases.apply(.reviewed(outcome), to: record, actor: actor, rule: "review.decision", at: now, seq: &seq, on: tx)
            record.decisionJSON = try CaseService.json(CaseDecision(outcome: outcome.rawValue, rule: "review.decision", reasons: reasons,
                                                                    decidedBy: staff.id.uuidString.lowercased(), decidedAt: now, noteSealed: noteSealed))
            task.state = "done"
            task.outcome = outcome.rawValue
            task.decidedBy = staff.id
            task.closedAt = now
            try await task.save(on: tx)
            try await AuditLog.record("case.reviewed", actor: actor, subject: CaseService.subject(task.caseID), ip: ip,
                                      details: ["outcome": outcome.rawValue, "reasons": reasons.joined(separator: ","),
                                                "task": taskID.uuidString.lowercased()], at: now, on: tx)
            switch outcome {
            case .approve:
                try await cases.completeApproval(record, program: program, account: applicant, actor: actor, at: now, seq: &seq, on: tx)
            case .reject:
                try await cases.notify(applicant, template: "case_rejected", text: Notices.rejected(program: program, reasons: reasons, lang: applicant.locale), on: tx)
            case .return:
                try await cases.notify(applicant, template: "case_returned", text: Notices.returned(program: program, lang: applicant.locale), on: tx)
            }
            record.version += 1
            record.updatedAt = now
            try await record.save(on: tx)
        }
        guard let updated = try await CaseRecord.find(task.caseID, on: db) else { throw HTTPFailure.error(for: .notFound) }
        return try await cases.load(updated)
    }
}

extension Notices {
    static func rejected(program: Program, reasons: [String], lang: Lang) -> String {
        let texts = reasons.compactMap { ReviewReasons.text($0)?(lang) }.joined(separator: " ")
        return LocalizedText("您的「\(program.title.zh)」申请未通过。", "Your \(program.title.en) application was not approved. ")(lang) + texts
    }
}
