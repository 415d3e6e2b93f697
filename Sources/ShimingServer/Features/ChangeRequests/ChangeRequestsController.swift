import Fluent
import Foundation
import NIOFoundationCompat
import ShimingCore
import Vapor

/// `/api/v1/me/change-requests` for applicants and `/api/v1/admin/change-requests` for staff.
struct ChangeRequestsController {
    let features: Features


    struct DecisionBody: Content {
        var outcome: String
        var note: String?
        var decidedAt: Date
    }

    struct ChangeRequestBody: Content {
        var id: UUID
        var accountID: UUID
        var field: String
        /// Masked for the legal name unless staff opened the request to decide it.
        var newValue: String
        var currentValue: String?
        var reason: String
        var state: String
        var proofs: [StoredFileView]
        var decision: DecisionBody?
        var createdAt: Date

        init(_ request: ChangeRequest, clear: Bool) {
            id = request.id
            accountID = request.accountID
            field = request.field.rawValue
            newValue = clear ? request.newValue : ChangeRequest.display(request.newValue, field: request.field) ?? ""
            currentValue = clear ? request.oldValue : ChangeRequest.display(request.oldValue, field: request.field)
            reason = request.reason
            state = request.state.rawValue
            proofs = request.proofs.map(StoredFileView.init)
            decision = request.decidedAt.map { DecisionBody(outcome: request.state == .approved ? "approve" : "reject", note: request.decisionNote, decidedAt: $0) }
            createdAt = request.createdAt
        }
    }

    static let fileSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "kind": .nullable(.string()), "size": .integer(), "contentType": .string(allowed: ["image/jpeg", "image/png", "application/pdf"]),
        "width": .nullable(.integer()), "height": .nullable(.integer()), "createdAt": .string(format: "date-time"),
    ], required: ["id", "size", "contentType", "createdAt"])

    static let schema: JSONSchema = .object([
        "id": .string(format: "uuid"), "accountID": .string(format: "uuid"),
        "field": .string(allowed: ChangeRequestField.allCases.map(\.rawValue)),
        "newValue": .string(description: "the legal name is masked except in the staff detail view"),
        "currentValue": .nullable(.string()), "reason": .string(),
        "state": .string(allowed: ChangeRequestState.allCases.map(\.rawValue)),
        "proofs": .array(.ref("StoredFile")),
        "decision": .nullable(.object(["outcome": .string(allowed: ["approve", "reject"]), "note": .nullable(.string()),
                                       "decidedAt": .string(format: "date-time")], required: ["outcome", "decidedAt"])),
        "createdAt": .string(format: "date-time"),
    ], required: ["id", "accountID", "field", "newValue", "reason", "state", "proofs", "createdAt"])

    static let components: [String: JSONSchema] = ["ChangeRequest": schema, "StoredFile": fileSchema]

    func register(_ routes: any RoutesBuilder) {
        let me = routes.grouped("api", "v1", "me", "change-requests")
        me.on(.POST, documentation: APIOperation(
            "createChangeRequest", summary: "Ask to change a locked field (username, legalName, gender); proof is attached next", tag: "accounts",
            requestBody: .object(["field": .string(allowed: ChangeRequestField.allCases.map(\.rawValue)), "newValue": .string(minLength: 1), "reason": .string(minLength: 1)],
                                 required: ["field", "newValue", "reason"]),
            responses: [201: .init("Filed", schema: .ref("ChangeRequest"))], components: Self.components, access: .signedIn
        ), use: create)
        me.on(.GET, documentation: APIOperation(
            "listMyChangeRequests", summary: "The caller's change requests, newest first", tag: "accounts",
            responses: [200: .init("Requests", schema: .array(.ref("ChangeRequest")))], components: Self.components, access: .signedIn
        ), use: listMine)
        me.on(.POST, ":id", "proofs", documentation: APIOperation(
            "addChangeRequestProof", summary: "Attach a proof (JPEG, PNG or PDF by content, ≤ 5 MB, ≤ 5 per request)", tag: "accounts",
            requestBody: .object(["file": .string(format: "binary")], required: ["file"]), requestContentType: "multipart/form-data",
            responses: [201: .init("Stored encrypted", schema: .ref("StoredFile"))], components: Self.components, access: .signedIn
        ), body: .stream, use: addProof)
        me.on(.GET, ":id", "proofs", ":file", documentation: APIOperation(
            "getMyChangeRequestProof", summary: "One of the caller's proofs", tag: "accounts",
            responses: [200: .init("The file", contentType: "application/octet-stream")], access: .signedIn
        ), use: myProof)

        let admin = routes.grouped("api", "v1", "admin", "change-requests")
        admin.on(.GET, documentation: APIOperation(
            "listChangeRequests", summary: "Change requests, oldest first (values masked)", tag: "admin",
            query: ["state": .string(allowed: ChangeRequestState.allCases.map(\.rawValue)), "limit": .integer()],
            responses: [200: .init("Requests", schema: .array(.ref("ChangeRequest")))], components: Self.components,
            access: .staff(AccessPolicy.readChangeRequests)
        ), use: list)
        admin.on(.GET, ":id", documentation: APIOperation(
            "getChangeRequest", summary: "One change request with its values in clear, to compare with the proof; the view is audited", tag: "admin",
            responses: [200: .init("The request", schema: .ref("ChangeRequest"))], components: Self.components,
            access: .staff(AccessPolicy.readChangeRequests)
        ), use: detail)
        admin.on(.GET, ":id", "proofs", ":file", documentation: APIOperation(
            "getChangeRequestProof", summary: "A proof's file; the view is audited", tag: "admin",
            responses: [200: .init("The file", contentType: "application/octet-stream")], access: .staff(AccessPolicy.readChangeRequests)
        ), use: staffProof)
        admin.on(.POST, ":id", "decision", documentation: APIOperation(
            "decideChangeRequest", summary: "Approve (the change is made) or reject (a note for the applicant is required)", tag: "admin",
            requestBody: .object(["outcome": .string(allowed: ["approve", "reject"]), "note": .string()], required: ["outcome"]),
            responses: [200: .init("Decided", schema: .ref("ChangeRequest"))], components: Self.components,
            access: .staff(AccessPolicy.decideChangeRequests)
        ), use: decide)
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        let input = try req.content.decode(ChangeRequestService.Input.self)
        let request = try await features.changeRequests.create(account: account, input, ip: req.clientIP)
        return try await ChangeRequestBody(request, clear: false).encodeResponse(status: .created, for: req)
    }

    @Sendable func listMine(_ req: Request) async throws -> [ChangeRequestBody] {
        let account = try req.requireAccount()
        return try await features.changeRequests.list(account: account).map { ChangeRequestBody($0, clear: false) }
    }

    /// Streamed: the proof is sealed into the store while it arrives.
    @Sendable func addProof(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        let id = try req.uuidParameter()
        let files = req.shiming.files
        let form = try await StreamedForm.receive(req, into: files, owner: account.id, fields: [], maxFileBytes: ChangeRequestService.maxProofBytes)
        guard let upload = form.file else { throw AccountError.invalid(["file": "required"]) }
        let file = try await features.changeRequests.addProof(to: id, account: account, file: upload, ip: req.clientIP)
        return try await StoredFileView(file).encodeResponse(status: .created, for: req)
    }

    @Sendable func myProof(_ req: Request) async throws -> Response {
        let (file, data) = try await features.changeRequests.ownProof(try req.uuidParameter("file"), request: try req.uuidParameter(),
                                                                      account: try req.requireAccount())
        return file.response(data)
    }

    @Sendable func list(_ req: Request) async throws -> [ChangeRequestBody] {
        var state: ChangeRequestState?
        if let raw = req.query[String.self, at: "state"] {
            guard let parsed = ChangeRequestState(rawValue: raw) else { throw AccountError.invalid(["state": "invalid_value"]) }
            state = parsed
        }
        let limit = min(max(req.query[Int.self, at: "limit"] ?? 100, 1), 500)
        return try await features.changeRequests.list(state: state, limit: limit).map { ChangeRequestBody($0, clear: false) }
    }

    @Sendable func detail(_ req: Request) async throws -> ChangeRequestBody {
        ChangeRequestBody(try await features.changeRequests.staffView(
            try req.uuidParameter(), action: "change_request.viewed", staff: try req.requireAccount(), ip: req.clientIP
        ), clear: true)
    }

    @Sendable func staffProof(_ req: Request) async throws -> Response {
        let (file, data) = try await features.changeRequests.staffProof(try req.uuidParameter("file"), request: try req.uuidParameter(),
                                                                        staff: try req.requireAccount(), ip: req.clientIP)
        return file.response(data)
    }

    @Sendable func decide(_ req: Request) async throws -> ChangeRequestBody {
        let staff = try req.requireAccount()
        let id = try req.uuidParameter()
        let decision = try req.content.decode(ChangeRequestService.Decision.self)
        let request = try await features.changeRequests.decide(id, staff: staff, decision, ip: req.clientIP)
        return ChangeRequestBody(request, clear: true)
    }
}
