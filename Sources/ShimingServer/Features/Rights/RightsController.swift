import Foundation
import ShimingCore
import Vapor

/// The subject's rights in the API (`/api/v1/me/…`): who looked at my data, a copy of it.
struct RightsController {
    let features: Features

    static let entry: JSONSchema = .object([
        "seq": .integer(description: "the audit event's sequence number; pass as `before` for older entries"),
        "at": .string(format: "date-time"),
        "kind": .string(allowed: AccessLogService.Kind.allCases.map(\.rawValue)),
        "viewer": .string(allowed: ["staff", "platform", "you"]),
        "role": .string(allowed: StaffRole.allCases.map(\.rawValue), description: "the staff member's role (never their name)"),
        "platform": .string(description: "the platform's name, for a platform query"),
        "field": .string(description: "the value shown in full, for a reveal (identity.documentNumber …)"),
        "purpose": .string(description: "the purpose the staff member gave, for a reveal"),
    ], required: ["seq", "at", "kind", "viewer"])

    func register(_ routes: any RoutesBuilder) {
        let me = routes.grouped("api", "v1", "me")
        me.on(.GET, "access-log", documentation: APIOperation(
            "getMyAccessLog", summary: "Who looked at the caller's data: staff views and reveals (by role, with the purpose), platform queries, exports; newest first, read from the audit log",
            tag: "accounts", query: ["before": .integer(description: "only entries older than this seq"), "limit": .integer(description: "default 100", minimum: 1, maximum: AccessLogService.maxLimit)],
            responses: [200: .init("Entries", schema: .array(.ref("AccessLogEntry")))], components: ["AccessLogEntry": Self.entry], access: .holder
        ), use: accessLog)
        me.on(.GET, "export", documentation: APIOperation(
            "exportMyData", summary: "Everything Shiming holds about the caller, as a ZIP: data.json, index.html (readable), the documents and proofs; audited. For an account whose files are large the ZIP is prepared in the background instead: 202 with the export and its Location",
            tag: "accounts", responses: [200: .init("The ZIP", contentType: "application/zip"), 202: .init("Being prepared", schema: .ref("DataExport"))],
            components: Self.exportComponents, access: .holder
        ), use: export)
        me.on(.POST, "exports", documentation: APIOperation(
            "requestMyDataExport", summary: "Ask for the ZIP to be prepared in the background (the one being prepared or still offered is answered instead); the caller is told by message when it is ready, and may download it for 24 hours",
            tag: "accounts", responses: [202: .init("Being prepared, or ready", schema: .ref("DataExport"))], components: Self.exportComponents, access: .holder
        ), use: requestExport)
        me.on(.GET, "exports", documentation: APIOperation(
            "listMyDataExports", summary: "The caller's exports prepared in the background, newest first",
            tag: "accounts", responses: [200: .init("Exports", schema: .array(.ref("DataExport")))], components: Self.exportComponents, access: .holder
        ), use: listExports)
        me.on(.GET, "exports", ":id", "download", documentation: APIOperation(
            "downloadMyDataExport", summary: "The ZIP of a ready export, streamed; 409 export_not_ready while it is prepared, export_expired after its 24 hours",
            tag: "accounts", responses: [200: .init("The ZIP", contentType: "application/zip"), 404: .init("Not the caller's"), 409: .init("Not ready, or expired")],
            access: .holder
        ), use: downloadExport)
    }

    static let exportComponents: [String: JSONSchema] = [
        "DataExport": .object([
            "id": .string(format: "uuid"),
            "state": .string(allowed: ExportJob.State.allCases.map(\.rawValue)),
            "requestedAt": .string(format: "date-time"),
            "readyAt": .string(format: "date-time"),
            "expiresAt": .string(format: "date-time", description: "when the ZIP is deleted (24 hours after it was ready)"),
            "size": .integer(description: "bytes"),
            "download": .string(description: "where to download it, once ready"),
        ], required: ["id", "state", "requestedAt"]),
    ]

    struct ExportBody: Content {
        var id: UUID
        var state: String
        var requestedAt: Date
        var readyAt: Date?
        var expiresAt: Date?
        var size: Int?
        var download: String?

        init(_ job: ExportJob) {
            (id, state, requestedAt, readyAt, expiresAt, size) = (job.id, job.state.rawValue, job.requestedAt, job.readyAt, job.expiresAt, job.size)
            download = job.state == .ready ? "/api/v1/me/exports/\(job.id.lowercasedText)/download" : nil
        }
    }

    @Sendable func export(_ req: Request) async throws -> Response {
        let account = try req.requireAccount()
        guard try await features.exportJobs.isLarge(account) else {
            return try await Self.exportResponse(req, account: account, exports: features.exports)
        }
        return try await accepted(req, try await features.exportJobs.request(account, lang: req.lang, ip: req.clientIP))
    }

    @Sendable func requestExport(_ req: Request) async throws -> Response {
        try await accepted(req, try await features.exportJobs.request(try req.requireAccount(), lang: req.lang, ip: req.clientIP))
    }

    private func accepted(_ req: Request, _ job: ExportJob) async throws -> Response {
        let response = try await ExportBody(job).encodeResponse(status: .accepted, for: req)
        response.headers.replaceOrAdd(name: .location, value: "/api/v1/me/exports")
        return response
    }

    @Sendable func listExports(_ req: Request) async throws -> [ExportBody] {
        try await features.exportJobs.list(try req.requireAccount()).map(ExportBody.init)
    }

    @Sendable func downloadExport(_ req: Request) async throws -> Response {
        try await Self.downloadResponse(req, id: try req.uuidParameter(), account: try req.requireAccount(), jobs: features.exportJobs)
    }

    /// A ready export's ZIP, opened piece by piece as it is sent (never held whole).
    static func downloadResponse(_ req: Request, id: UUID, account: Account, jobs: ExportJobService) async throws -> Response {
        let (job, pieces) = try await jobs.download(id, account: account)
        let response = Response(status: .ok, body: .init(asyncStream: { writer in
            do {
                for try await piece in pieces { try await writer.writeBuffer(ByteBuffer(bytes: piece)) }
                try await writer.write(.end)
            } catch {
                try await writer.write(.error(error))
            }
        }))
        response.headers.contentType = HTTPMediaType(type: "application", subType: "zip")
        if let size = job.size { response.headers.replaceOrAdd(name: .contentLength, value: String(size)) }
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"shiming-data-\(ChinaTime.day(job.requestedAt)).zip\"")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return response
    }

    /// Builds the person's ZIP in `<data dir>/exports` (0700), streams it, and removes it.
    static func exportResponse(_ req: Request, account: Account, exports: DataExportService) async throws -> Response {
        let url = try exports.workFile(UUID())
        do {
            try await exports.export(account: account, to: url, lang: req.lang, ip: req.clientIP)
        } catch {
            try? FileManager.default.removeItem(at: url)
            throw error
        }
        let response = try await req.fileio.asyncStreamFile(at: url.path, mediaType: HTTPMediaType(type: "application", subType: "zip")) { _ in
            try? FileManager.default.removeItem(at: url)
        }
        let day = ChinaTime.day(exports.now)
        response.headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"shiming-data-\(day).zip\"")
        response.headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return response
    }

    /// Removes exports left behind by a process that stopped while sending one (they are removed
    /// once sent otherwise): files over an hour old, so that an instance sharing the data dir
    /// keeps the one it is sending now. Answers how many were removed.
    @discardableResult
    static func removeLeftoverExports(dataDirectory: String, now: Date, olderThan age: TimeInterval = 3600) -> Int {
        let folder = (dataDirectory as NSString).appendingPathComponent("exports")
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
            let path = (folder as NSString).appendingPathComponent(name)
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
                  now.timeIntervalSince(modified) > age, (try? FileManager.default.removeItem(atPath: path)) != nil else { continue }
            removed += 1
        }
        return removed
    }

    struct EntryBody: Content {
        var seq: Int64
        var at: Date
        var kind: String
        var viewer: String
        var role: String?
        var platform: String?
        var field: String?
        var purpose: String?

        init(_ entry: AccessLogService.Entry) {
            seq = entry.seq
            at = entry.at
            kind = entry.kind.rawValue
            switch entry.viewer {
            case .staff(let role): (viewer, self.role) = ("staff", role?.rawValue)
            case .platform(let name): (viewer, platform) = ("platform", name)
            case .themselves: viewer = "you"
            }
            field = entry.field
            purpose = entry.purpose
        }
    }

    @Sendable func accessLog(_ req: Request) async throws -> [EntryBody] {
        let limit = req.query[Int.self, at: "limit"] ?? 100
        guard (1...AccessLogService.maxLimit).contains(limit) else { throw AccountError.invalid(["limit": "invalid_value"]) }
        let entries = try await features.accessLog.entries(for: try req.requireAccount(), before: req.query[Int64.self, at: "before"], limit: limit)
        return entries.map(EntryBody.init)
    }
}
