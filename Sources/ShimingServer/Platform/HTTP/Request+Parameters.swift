import Foundation
import ShimingCore
import Vapor

extension Request {
    /// A route's id parameter as a UUID; anything else is 404, like an id that names nothing.
    func uuidParameter(_ name: String = "id") throws -> UUID {
        // The hyphenated form is read from its bytes; `UUID(uuidString:)` (which goes through
        // `sscanf`) decides only for other texts.
        guard let text = parameter(name), let id = UUID(hyphenated: text) ?? UUID(uuidString: text) else { throw CommonErrors.notFound }
        return id
    }
}

extension StoredFile {
    /// The file's bytes as a response: its own content type, shown inline, never cached.
    func response(_ data: Data) -> Response {
        var headers = HTTPHeaders()
        headers.replaceOrAdd(name: .contentType, value: format.contentType)
        headers.replaceOrAdd(name: .contentDisposition, value: "inline; filename=\"\(id.lowercasedText).\(format.fileExtension)\"")
        headers.replaceOrAdd(name: .cacheControl, value: "private, no-store")
        return Response(status: .ok, headers: headers, body: .init(data: data))
    }
}
