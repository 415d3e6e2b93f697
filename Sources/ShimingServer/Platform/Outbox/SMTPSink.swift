import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// How to reach an SMTP server, parsed from `SHIMING_SMTP_URL`:
/// `smtp://user:password@host:587?starttls=required&ca=/path/ca.pem` (STARTTLS when offered by
/// default; `starttls=required` refuses to send without it, `starttls=off` never upgrades) or
/// `smtps://user:password@host:465` (TLS from the first byte).
public struct SMTPSettings: Sendable, Equatable {
    public enum Security: String, Sendable, Equatable {
        /// Upgrade with STARTTLS when the server offers it.
        case opportunistic
        /// Refuse to send unless the server offers STARTTLS.
        case required
        /// Plain text only (a local relay).
        case off
        /// TLS from the first byte (port 465).
        case implicit
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The sender address (`SHIMING_MAIL_FROM`).
    public var from: String
    /// The sender's display name.
    public var fromName: String
    /// A PEM file of certificates to trust instead of the system's (private CAs, tests).
    public var trustRootsFile: String?
    /// The name this host gives in EHLO.
    public var heloName: String

    /// Parses the URL; `nil` with a reason when it is unusable.
    public static func parse(url text: String, from: String, fromName: String = "实名认证 Shiming") throws -> SMTPSettings {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty else {
            throw ConfigurationError(variable: "SHIMING_SMTP_URL", problem: "must look like smtp://user:password@host:587 or smtps://host:465, got \"\(text)\"")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name.lowercased(), $0.value ?? "") }, uniquingKeysWith: { $1 })
        var security: Security = scheme == "smtps" ? .implicit : .opportunistic
        if scheme == "smtp", let mode = query["starttls"] {
            switch mode.lowercased() {
            case "required", "require": security = .required
            case "off", "no", "false": security = .off
            case "", "opportunistic", "auto": security = .opportunistic
            default: throw ConfigurationError(variable: "SHIMING_SMTP_URL", problem: "starttls must be required, opportunistic or off")
            }
        }
        guard from.contains("@") else {
            throw ConfigurationError(variable: "SHIMING_MAIL_FROM", problem: "must be the sender's e-mail address, got \"\(from)\"")
        }
        return SMTPSettings(
            host: host, port: components.port ?? (scheme == "smtps" ? 465 : 587), security: security,
            username: components.user?.removingPercentEncoding, password: components.password?.removingPercentEncoding,
            from: from, fromName: fromName, trustRootsFile: query["ca"].flatMap { $0.isEmpty ? nil : $0 },
            heloName: query["helo"] ?? "shiming.local"
        )
    }
}

/// Delivers e-mail over a real SMTP conversation (RFC 5321): EHLO, STARTTLS when offered,
/// AUTH PLAIN or LOGIN, MAIL/RCPT/DATA with a multipart text + HTML UTF-8 message, QUIT.
public struct SMTPSink: MessageSink {
    let settings: SMTPSettings
    let group: any EventLoopGroup
    /// Makes message ids and MIME boundaries.
    let makeID: @Sendable () -> String

    public init(settings: SMTPSettings, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                makeID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }) {
        self.settings = settings
        self.group = group
        self.makeID = makeID
    }

    public var description: String { "smtp://\(settings.host):\(settings.port) (\(settings.security.rawValue))" }

    public func deliver(_ message: OutgoingMessage, at: Date) async throws {
        let data = MIMEMessage.compose(message, from: settings.from, fromName: settings.fromName, date: at, id: makeID())
        try await withTimeout(seconds: 60) { try await converse(recipient: message.to, data: data) }
    }

    /// The name to verify the certificate against; IP literals cannot be sent as SNI (the
    /// certificate chain is still verified).
    static func serverName(_ host: String) -> String? {
        host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
    }

    func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let file = settings.trustRootsFile { configuration.trustRoots = .file(file) }
        return try NIOSSLContext(configuration: configuration)
    }

    private func converse(recipient: String, data: String) async throws {
        let settings = self.settings
        let implicitTLS = settings.security == .implicit ? try tlsContext() : nil
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(15))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let implicitTLS {
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: implicitTLS, serverHostname: SMTPSink.serverName(settings.host))
                        )
                    }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var reader = SMTPReplyReader(iterator: inbound.makeAsyncIterator())
            func command(_ line: String, expect: Set<Int>, secret: Bool = false) async throws -> SMTPReply {
                try await outbound.write(ByteBuffer(string: line + "\r\n"))
                let reply = try await reader.reply()
                guard expect.contains(reply.code) else {
                    let shown = secret ? line.split(separator: " ").prefix(2).joined(separator: " ") + " …" : line
                    throw DeliveryFailure("SMTP \(settings.host): \(shown) answered \(reply.code) \(reply.lines.joined(separator: " "))")
                }
                return reply
            }
            let greeting = try await reader.reply()
            guard greeting.code == 220 else { throw DeliveryFailure("SMTP \(settings.host) greeted with \(greeting.code)") }
            var extensions = try await command("EHLO \(settings.heloName)", expect: [250]).extensions
            if settings.security == .required || settings.security == .opportunistic {
                if extensions.keys.contains("STARTTLS") {
                    _ = try await command("STARTTLS", expect: [220])
                    // The TLS handler is made and added on the channel's own event loop: handlers
                    // are not Sendable, and the pipeline must change before the next byte is read.
                    let context = try tlsContext()
                    let serverName = SMTPSink.serverName(settings.host)
                    try await channel.channel.eventLoop.submit {
                        try channel.channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: serverName), position: .first
                        )
                    }.get()
                    extensions = try await command("EHLO \(settings.heloName)", expect: [250]).extensions
                } else if settings.security == .required {
                    throw DeliveryFailure("SMTP \(settings.host) does not offer STARTTLS, which is required")
                }
            }
            if let username = settings.username, let password = settings.password {
                let mechanisms = Set((extensions["AUTH"] ?? "").uppercased().split(separator: " ").map(String.init))
                if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                    let token = Data("\u{0}\(username)\u{0}\(password)".utf8).base64EncodedString()
                    _ = try await command("AUTH PLAIN \(token)", expect: [235], secret: true)
                } else {
                    _ = try await command("AUTH LOGIN", expect: [334])
                    _ = try await command(Data(username.utf8).base64EncodedString(), expect: [334], secret: true)
                    _ = try await command(Data(password.utf8).base64EncodedString(), expect: [235], secret: true)
                }
            }
            _ = try await command("MAIL FROM:<\(settings.from)>", expect: [250])
            _ = try await command("RCPT TO:<\(recipient)>", expect: [250, 251])
            _ = try await command("DATA", expect: [354])
            _ = try await command(MIMEMessage.dotStuffed(data) + "\r\n.", expect: [250])
            _ = try? await command("QUIT", expect: [221])
        }
    }
}

/// One SMTP reply: its code and text lines.
struct SMTPReply {
    var code: Int
    var lines: [String]

    /// EHLO keywords and their parameters (`AUTH` → `PLAIN LOGIN`).
    var extensions: [String: String] {
        var result: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard let keyword = parts.first else { continue }
            result[keyword.uppercased()] = parts.count > 1 ? String(parts[1]) : ""
        }
        return result
    }
}

/// Reads CRLF-terminated lines and multi-line replies (`250-…` continues, `250 …` ends).
struct SMTPReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending = ByteBuffer()

    mutating func line() async throws -> String {
        while true {
            let view = pending.readableBytesView
            if let newline = view.firstIndex(of: 0x0A) {
                let length = view.distance(from: view.startIndex, to: newline)
                var text = pending.readString(length: length) ?? ""
                pending.moveReaderIndex(forwardBy: 1)
                if text.hasSuffix("\r") { text.removeLast() }
                return text
            }
            guard var chunk = try await iterator.next() else { throw DeliveryFailure("SMTP server closed the connection") }
            pending.writeBuffer(&chunk)
        }
    }

    mutating func reply() async throws -> SMTPReply {
        var lines: [String] = []
        while true {
            let text = try await line()
            guard text.utf8.count >= 3, let code = Int(text.prefix(3)) else { throw DeliveryFailure("SMTP: malformed reply \"\(text)\"") }
            lines.append(String(text.dropFirst(4)))
            if text.utf8.count == 3 || text[text.index(text.startIndex, offsetBy: 3)] == " " {
                return SMTPReply(code: code, lines: lines)
            }
        }
    }
}

/// Builds RFC 5322 / MIME messages: UTF-8 headers as encoded words, a text part and (when
/// present) an HTML alternative, both base64 so no line needs dot-stuffing or folding.
enum MIMEMessage {
    static func compose(_ message: OutgoingMessage, from: String, fromName: String, date: Date, id: String) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "shiming.local"
        var headers = [
            "From: \(encodedWord(fromName)) <\(from)>",
            "To: <\(message.to)>",
            "Subject: \(encodedWord(message.subject ?? ""))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(id)@\(domain)>",
            "MIME-Version: 1.0",
            "X-Shiming-Template: \(message.template)",
        ]
        let text = part("text/plain", message.text)
        guard let html = message.html else {
            headers += text.headers
            return headers.joined(separator: "\r\n") + "\r\n\r\n" + text.body
        }
        let boundary = "shiming-\(id)"
        headers.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        let htmlPart = part("text/html", html)
        let body = [text, htmlPart].map { "--\(boundary)\r\n" + $0.headers.joined(separator: "\r\n") + "\r\n\r\n" + $0.body }
            .joined(separator: "\r\n") + "\r\n--\(boundary)--"
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + body
    }

    static func part(_ type: String, _ content: String) -> (headers: [String], body: String) {
        (["Content-Type: \(type); charset=UTF-8", "Content-Transfer-Encoding: base64"], base64Lines(Data(content.utf8)))
    }

    /// Base64 in lines of 76 characters (RFC 2045).
    static func base64Lines(_ data: Data) -> String {
        let encoded = data.base64EncodedString()
        var lines: [Substring] = []
        var index = encoded.startIndex
        while index < encoded.endIndex {
            let end = encoded.index(index, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            lines.append(encoded[index..<end])
            index = end
        }
        return lines.joined(separator: "\r\n")
    }

    /// `=?UTF-8?B?…?=` for non-ASCII header text (RFC 2047); ASCII stays readable.
    static func encodedWord(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    /// Doubles a leading dot on any line (RFC 5321 §4.5.2).
    static func dotStuffed(_ data: String) -> String {
        data.components(separatedBy: "\r\n").map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n")
    }
}

/// Runs `body`, giving up after `seconds`.
func withTimeout<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
            throw DeliveryFailure("timed out after \(Int(seconds)) s")
        }
        let result = try await group.next()!
        group.cancelAll()
        return result
    }
}
