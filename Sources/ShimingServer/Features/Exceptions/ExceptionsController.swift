import Fluent
import Foundation
import ShimingCore
import Vapor

/// Risk alerts, feedback and the reviewer figures: `/api/v1/admin/alerts`, `/api/v1/feedback`,
/// `/api/v1/admin/feedback`, `/api/v1/admin/metrics/reviewers`.
struct ExceptionsController {
    let features: Features


    static let alertSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "kind": .string(allowed: RiskAlertService.Kind.allCases.map(\.rawValue)),
        "subject": .string(description: "case:…, account:…, ip:… or staff:…"), "program": .nullable(.string()),
        "details": .object([:]), "note": .nullable(.string()), "raisedBy": .nullable(.string(format: "uuid")),
        "state": .string(allowed: RiskAlertState.allCases.map(\.rawValue)), "count": .integer(),
        "createdAt": .string(format: "date-time"), "lastSeenAt": .string(format: "date-time"),
        "acknowledgedBy": .nullable(.string(format: "uuid")), "acknowledgedAt": .nullable(.string(format: "date-time")),
        "resolvedBy": .nullable(.string(format: "uuid")), "resolvedAt": .nullable(.string(format: "date-time")), "resolution": .nullable(.string()),
    ], required: ["id", "kind", "subject", "details", "state", "count", "createdAt", "lastSeenAt"])

    static let feedbackSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "accountId": .string(format: "uuid"), "caseId": .nullable(.string(format: "uuid")),
        "page": .nullable(.string()), "text": .string(), "tags": .array(.string()), "state": .string(allowed: FeedbackState.allCases.map(\.rawValue)),
        "createdAt": .string(format: "date-time"), "answer": .nullable(.string()), "answeredAt": .nullable(.string(format: "date-time")),
    ], required: ["id", "accountId", "text", "tags", "state", "createdAt"])

    static let rowSchema: JSONSchema = .object([
        "id": .string(), "name": .string(), "decided": .integer(), "approved": .integer(), "rejected": .integer(), "returned": .integer(),
        "medianSeconds": .nullable(.number()), "p90Seconds": .nullable(.number()), "overdue": .integer(), "overturned": .integer(),
        "returnedShare": .nullable(.number()), "rejectedShare": .nullable(.number()),
    ], required: ["id", "name", "decided", "approved", "rejected", "returned", "overdue", "overturned"])

    func register(_ routes: any RoutesBuilder) {
        let admin = routes.grouped("api", "v1", "admin")
        let components = ["RiskAlert": Self.alertSchema, "Feedback": Self.feedbackSchema, "ReviewerFigures": Self.rowSchema]
        admin.on(.GET, "alerts", documentation: APIOperation(
            "listRiskAlerts", summary: "Risk alerts, latest first (default: open and acknowledged)", tag: "alerts",
            query: ["state": .string(allowed: ["active", "open", "acknowledged", "resolved", "all"])],
            responses: [200: .init("Alerts", schema: .array(.ref("RiskAlert")))], components: components, access: .staff(AccessPolicy.readAlerts)
        ), use: alerts)
        admin.on(.POST, "alerts", documentation: APIOperation(
            "raiseRiskAlert", summary: "Raise an alert about a case or an account, with a note", tag: "alerts",
            requestBody: .object(["caseId": .string(format: "uuid"), "accountId": .string(format: "uuid"), "note": .string(pattern: "\\S")], required: ["note"]),
            responses: [201: .init("Raised", schema: .ref("RiskAlert"))], components: components,
            access: .staff(AccessPolicy.reviewCases)
        ), use: raiseAlert)
        admin.on(.POST, "alerts", ":id", "acknowledge", documentation: APIOperation(
            "acknowledgeRiskAlert", summary: "Acknowledge an open alert", tag: "alerts",
            responses: [200: .init("Acknowledged", schema: .ref("RiskAlert")), 409: .init("invalid_state")], components: components,
            access: .staff(AccessPolicy.handleAlerts)
        ), use: acknowledge)
        admin.on(.POST, "alerts", ":id", "resolve", documentation: APIOperation(
            "resolveRiskAlert", summary: "Resolve an alert with a note on what was done", tag: "alerts",
            requestBody: .object(["note": .string(pattern: "\\S")], required: ["note"]),
            responses: [200: .init("Resolved", schema: .ref("RiskAlert")), 409: .init("invalid_state")], components: components,
            access: .staff(AccessPolicy.handleAlerts)
        ), use: resolve)

        let api = routes.grouped("api", "v1")
        api.on(.POST, "feedback", documentation: APIOperation(
            "sendFeedback", summary: "Send feedback from any page (about one of your cases, optionally)", tag: "feedback",
            requestBody: .object(["text": .string(description: "2–2000 characters", minLength: 2), "caseId": .string(format: "uuid"),
                                  "page": .string(description: "the page's path")], required: ["text"]),
            responses: [201: .init("Sent", schema: .ref("Feedback"))], components: components, access: .holder
        ), use: sendFeedback)
        api.on(.GET, "feedback", documentation: APIOperation(
            "listMyFeedback", summary: "The caller's feedback with staff's answers, newest first", tag: "feedback",
            responses: [200: .init("Feedback", schema: .array(.ref("Feedback")))], components: components, access: .holder
        ), use: myFeedback)
        admin.on(.GET, "feedback", documentation: APIOperation(
            "listFeedback", summary: "Feedback for staff, newest first", tag: "feedback",
            query: ["state": .string(allowed: ["all", "new", "read", "answered"]), "tag": .string()],
            responses: [200: .init("Feedback", schema: .array(.ref("Feedback")))], components: components, access: .staff(AccessPolicy.handleFeedback)
        ), use: feedback)
        admin.on(.PATCH, "feedback", ":id", documentation: APIOperation(
            "updateFeedback", summary: "Mark feedback read and/or set its tags", tag: "feedback",
            requestBody: .object(["tags": .array(.string()), "read": .boolean()]),
            responses: [200: .init("Updated", schema: .ref("Feedback"))], components: components, access: .staff(AccessPolicy.handleFeedback)
        ), use: updateFeedback)
        admin.on(.POST, "feedback", ":id", "answer", documentation: APIOperation(
            "answerFeedback", summary: "Answer feedback; the sender is told by SMS or e-mail", tag: "feedback",
            requestBody: .object(["text": .string(pattern: "\\S")], required: ["text"]),
            responses: [200: .init("Answered", schema: .ref("Feedback"))], components: components, access: .staff(AccessPolicy.handleFeedback)
        ), use: answerFeedback)

        admin.on(.GET, "metrics", "reviewers", documentation: APIOperation(
            "reviewerFigures", summary: "Per reviewer and per team (program): decided, median and p90 time to decision, overdue, overturned on appeal, returned and rejected shares",
            tag: "review", query: ["from": .string(description: "yyyy-MM-dd (China time) or RFC 3339"), "to": .string(description: "yyyy-MM-dd (inclusive) or RFC 3339")],
            responses: [200: .init("Figures", schema: .object([
                "from": .string(format: "date-time"), "to": .string(format: "date-time"),
                "reviewers": .array(.ref("ReviewerFigures")), "teams": .array(.ref("ReviewerFigures")),
            ], required: ["from", "to", "reviewers", "teams"]))],
            components: components, access: .staff(AccessPolicy.readFigures)
        ), use: figures)
    }

    @Sendable func alerts(_ req: Request) async throws -> [RiskAlertView] {
        let cipher = req.shiming.cipher
        return try await features.alerts.list(state: req.query[String.self, at: "state"])
            .map { try RiskAlertView($0, cipher: cipher) }
    }

    struct AlertInput: Content {
        var caseId: UUID?
        var accountId: UUID?
        var note: String?
    }

    @Sendable func raiseAlert(_ req: Request) async throws -> Response {
        let staff = try req.requireAccount()
        let input = try req.content.decode(AlertInput.self)
        let alert = try await features.alerts.raise(caseID: input.caseId, accountID: input.accountId,
                                                    note: input.note, staff: staff, ip: req.clientIP)
        return try await RiskAlertView(alert, cipher: req.shiming.cipher).encodeResponse(status: .created, for: req)
    }

    struct NoteInput: Content {
        var note: String?
    }

    @Sendable func acknowledge(_ req: Request) async throws -> RiskAlertView {
        let alert = try await features.alerts.move(try req.uuidParameter(), to: .acknowledged, note: nil,
                                                   staff: try req.requireAccount(), ip: req.clientIP)
        return try RiskAlertView(alert, cipher: req.shiming.cipher)
    }

    @Sendable func resolve(_ req: Request) async throws -> RiskAlertView {
        let note = try req.content.decode(NoteInput.self).note
        let alert = try await features.alerts.move(try req.uuidParameter(), to: .resolved, note: note,
                                                   staff: try req.requireAccount(), ip: req.clientIP)
        return try RiskAlertView(alert, cipher: req.shiming.cipher)
    }

    struct FeedbackInput: Content {
        var text: String?
        var caseId: UUID?
        var page: String?
    }

    @Sendable func sendFeedback(_ req: Request) async throws -> Response {
        let input = try req.content.decode(FeedbackInput.self)
        let item = try await features.feedback.send(text: input.text, caseID: input.caseId, page: input.page,
                                                    account: try req.requireAccount(), ip: req.clientIP)
        return try await FeedbackView(item).encodeResponse(status: .created, for: req)
    }

    @Sendable func myFeedback(_ req: Request) async throws -> [FeedbackView] {
        try await features.feedback.mine(try req.requireAccount()).map(FeedbackView.init)
    }

    @Sendable func feedback(_ req: Request) async throws -> [FeedbackView] {
        try await features.feedback.list(state: req.query[String.self, at: "state"], tag: req.query[String.self, at: "tag"])
            .map(FeedbackView.init)
    }

    struct FeedbackUpdate: Content {
        var tags: [String]?
        var read: Bool?
    }

    @Sendable func updateFeedback(_ req: Request) async throws -> FeedbackView {
        let input = try req.content.decode(FeedbackUpdate.self)
        return FeedbackView(try await features.feedback.update(
            try req.uuidParameter(), tags: input.tags, read: input.read, staff: try req.requireAccount(), ip: req.clientIP))
    }

    @Sendable func answerFeedback(_ req: Request) async throws -> FeedbackView {
        let text = try req.content.decode(FeedbackInput.self).text
        return FeedbackView(try await features.feedback.answer(
            try req.uuidParameter(), text: text, staff: try req.requireAccount(), ip: req.clientIP))
    }

    @Sendable func figures(_ req: Request) async throws -> ReviewFigures.Report {
        let (from, to) = try ReviewFigures.period(from: req.query[String.self, at: "from"], to: req.query[String.self, at: "to"], now: req.now)
        return try await ReviewFigures.report(from: from, to: to, lang: req.lang, programs: req.shiming.programs, in: Store(req.db, context: req.shiming))
    }
}

extension ReviewFigures.Report: Content {}
