import Foundation

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
