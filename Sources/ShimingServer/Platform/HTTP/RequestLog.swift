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

/// What the outbox keeps of a failed delivery: no addresses, numbers or codes (a gateway's or
/// a mail server's answer may echo them), and not too long.
enum DeliveryErrorText {
    static func scrub(_ text: String) -> String {
        var result = text
        // E-mail addresses → the first character and the domain.
        result = result.replacing(/([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)/) { "\($0.output.1)***@\($0.output.2)" }
        // Runs of five or more digits (phone numbers, codes, document numbers) → masked.
        result = result.replacing(/[0-9]{5,}/) { String(repeating: "#", count: $0.output.count) }
        return String(result.prefix(300))
    }
}
