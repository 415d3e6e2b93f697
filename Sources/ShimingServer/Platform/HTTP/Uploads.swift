import Foundation
import ShimingCore
import Vapor

/// The file part of a streamed upload: already sealed into the file store under `id` while it
/// arrived (whoever receives it records it or removes it), its size, and its first megabyte,
/// which is all that recognising a file needs (`FileSniffer`).
struct ReceivedFile: Sendable {
    static let headBytes = 1 << 20
    let id: UUID
    let size: Int
    let head: Data
}

/// A `multipart/form-data` upload read as it arrives (routes registered with `body: .stream`,
/// so the session and the CSRF token have been checked before any of it is read): short text
/// fields are kept, the part named `file` is sealed into the store segment by segment, and no
/// more than its first megabyte is ever held in memory. Parts the form does not name are
/// refused (`unknown_field`), as unknown JSON fields are; a file over `maxFileBytes` is
/// refused as `file_too_large` after the rest of the body has been read and dropped.
struct StreamedForm {
    var fields: [String: String] = [:]
    var file: ReceivedFile?

    static let maxFieldBytes = 8 * 1024
    static let maxParts = 16

    static func receive(_ req: Request, into files: SealedFiles, owner: UUID, fields allowed: Set<String>, maxFileBytes: Int) async throws -> StreamedForm {
        guard let type = req.headers.contentType, type.type == "multipart", type.subType == "form-data",
              let boundary = type.parameters["boundary"], !boundary.isEmpty, boundary.utf8.count <= 200 else {
            throw AccountError.invalid(["file": "required"])
        }
        let parts = PartCollector(allowed: allowed)
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in parts.header(name, value) }
        parser.onBody = { buffer in parts.body(&buffer) }
        parser.onPartComplete = { parts.complete() }

        var writer: SealedStream.Writer?
        let fileID = UUID()
        var head = Data()
        var tooLarge = false
        var received = 0
        do {
            for try await var chunk in req.body {
                received += chunk.readableBytes
                if tooLarge {
                    // Read to the end (so that the browser sees the answer), keeping nothing, up to a bound.
                    guard received <= maxFileBytes * 2 + (1 << 20) else { break }
                    continue
                }
                // In slices, so that no more than one segment's worth waits for the writer.
                while !tooLarge, chunk.readableBytes > 0, let slice = chunk.readSlice(length: min(SealedStream.segmentBytes, chunk.readableBytes)) {
                    do { try parser.execute(slice) } catch { throw AccountError.invalid(["file": "invalid_format"]) }
                    if let problem = parts.problem { throw problem }
                    guard !parts.fileBytes.isEmpty else { continue }
                    if writer == nil { writer = try await files.writer(id: fileID, owner: owner) }
                    guard let current = writer else { continue }
                    if head.count < ReceivedFile.headBytes { head.append(contentsOf: parts.fileBytes.prefix(ReceivedFile.headBytes - head.count)) }
                    try await current.append(parts.fileBytes)
                    parts.fileBytes.removeAll(keepingCapacity: true)
                    if current.size > maxFileBytes {
                        tooLarge = true
                        await current.discard()
                        writer = nil
                    }
                }
            }
            if tooLarge { throw SealedFiles.problem(.tooLarge) }
            guard parts.finished || parts.count == 0 else { throw AccountError.invalid(["file": "invalid_format"]) }
            var form = StreamedForm(fields: parts.fields)
            if let writer, writer.size > 0 {
                try await writer.finish()
                form.file = ReceivedFile(id: fileID, size: writer.size, head: head)
            } else {
                await writer?.discard()
            }
            return form
        } catch {
            await writer?.discard()
            throw error
        }
    }
}

/// What the multipart parser reports, gathered for `StreamedForm` (one request, one task).
private final class PartCollector {
    let allowed: Set<String>
    var fields: [String: String] = [:]
    /// File bytes parsed but not yet handed to the sealed writer.
    var fileBytes: [UInt8] = []
    var problem: UserFacingError?
    private var name: String?
    private var fieldBytes: [UInt8] = []
    /// Parts begun so far.
    private(set) var count = 0
    private var fileSeen = false
    private var inFile = false
    /// Whether the last part was complete (a body cut short leaves this false).
    private(set) var finished = false

    init(allowed: Set<String>) { self.allowed = allowed }

    func header(_ header: String, _ value: String) {
        finished = false
        guard header.lowercased() == "content-disposition" else { return }
        let name = Self.parameter("name", in: value) ?? ""
        self.name = name
        count += 1
        if count > StreamedForm.maxParts { fail(name, "too_many_parts") }
        if name == "file" {
            if fileSeen { fail("file", "too_many_files") }
            fileSeen = true
            inFile = true
        } else if !allowed.contains(name) {
            problem = problem ?? UserFacingError(
                code: "unknown_field", kind: .invalidInput,
                message: LocalizedText("请求中有无法识别的字段。", "The request has fields this operation does not know."),
                fields: [name.isEmpty ? "file" : name: "unknown_field"])
        }
    }

    func body(_ buffer: inout ByteBuffer) {
        guard problem == nil else { return }
        if inFile {
            fileBytes.append(contentsOf: buffer.readableBytesView)
        } else if let name {
            fieldBytes.append(contentsOf: buffer.readableBytesView)
            if fieldBytes.count > StreamedForm.maxFieldBytes { fail(name, "too_long") }
        }
    }

    func complete() {
        if !inFile, let name, problem == nil {
            fields[name] = String(decoding: fieldBytes, as: UTF8.self)
        }
        name = nil
        inFile = false
        fieldBytes.removeAll(keepingCapacity: true)
        finished = true
    }

    private func fail(_ field: String, _ code: String) {
        problem = problem ?? AccountError.invalid([field.isEmpty ? "file" : field: code])
    }

    /// A parameter of a `Content-Disposition` value (`form-data; name="kind"`), unquoted.
    static func parameter(_ key: String, in value: String) -> String? {
        for piece in value.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            var raw = pair[1].trimmingCharacters(in: .whitespaces)
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") { raw = String(raw.dropFirst().dropLast()) }
            return raw
        }
        return nil
    }
}

extension SealedFiles {
    /// Runs `body`, and removes the received file if it throws: an upload that is refused
    /// leaves nothing behind.
    func owning<T>(_ file: ReceivedFile?, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if let file { try? await remove(file.id) }
            throw error
        }
    }
}
