import Fluent
import Foundation
import NIOCore
import NIOFoundationCompat
import ShimingCore
import Vapor

/// `POST /api/v1/admin/rosters`: the CSV is the request body (`Content-Type: text/csv`),
/// read as it arrives.
struct RosterController {
    static let reportSchema: JSONSchema = .object([
        "id": .string(format: "uuid"), "rows": .integer(), "imported": .integer(),
        "rejected": .array(.object(["line": .integer(), "code": .string(), "field": .nullable(.string())], required: ["line", "code"])),
        "rejectedCount": .integer(), "schools": .integer(),
    ], required: ["id", "rows", "imported", "rejected", "rejectedCount", "schools"])

    func register(_ routes: any RoutesBuilder) {
        routes.grouped("api", "v1", "admin").on(.POST, "rosters", documentation: APIOperation(
            "importRoster", summary: "Import a student roll: UTF-8 CSV with header name,id_number,school,grade,class,enrolment_year (extra columns kept); replaces the earlier roll of each school in it",
            tag: "admin", requestBody: .string(description: "the CSV file"), requestContentType: "text/csv",
            responses: [200: .init("Import report", schema: .ref("RosterReport")), 415: .init("Not a CSV body")],
            components: ["RosterReport": Self.reportSchema], access: .staff(AccessPolicy.administer)
        ), body: .stream, use: importRoster)
    }

    @Sendable func importRoster(_ req: Request) async throws -> RosterReport {
        let admin = try req.requireAccount()
        let type = req.headers.contentType
        guard type == nil || (type?.type == "text" && type?.subType == "csv") || type?.subType == "octet-stream" else {
            throw UserFacingError(code: "unsupported_media_type", kind: .invalidInput,
                                  message: LocalizedText("请把 CSV 文件作为请求体发送（Content-Type: text/csv）。",
                                                         "Send the CSV file as the request body (Content-Type: text/csv)."),
                                  fields: ["file": "unsupported_media_type"])
        }
        return try await RosterImporter.run(req.body, context: req.shiming, store: Store(req.db, context: req.shiming), actor: .staff(admin.id), ip: req.clientIP)
    }
}

/// A file read in 1 MiB chunks, one when asked for: memory does not grow with the file.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let handle: FileHandle

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle

        mutating func next() async throws -> ByteBuffer? {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return ByteBuffer(data: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }
}

extension RosterReport: Content {}
