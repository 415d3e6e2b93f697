import Foundation
import Logging
import Vapor

/// One log line per request: the method and the path as it was sent (still percent-encoded,
/// so `%0a` cannot start a forged line) with any control character escaped, and the client's
/// address in the metadata.
struct RequestLogMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        request.logger.info("\(request.method) \(Self.printable(request.url.path))",
                            metadata: request.clientIP.map { ["client": .string($0)] } ?? [:])
        return try await next.respond(to: request)
    }

    /// The text with control characters (and the backslash that escapes them) written as `\u{…}`.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            let category = scalar.properties.generalCategory
            if category == .control || category == .lineSeparator || category == .paragraphSeparator || scalar.value == 0x5C {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
