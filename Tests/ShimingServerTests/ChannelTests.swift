import Foundation
import NIOConcurrencyHelpers
import Testing
import Vapor
@testable import ShimingServer

/// A real SMTP server (PyPI's aiosmtpd, Tests/support/smtp_sink.py) for one test.
final class SMTPTestServer: @unchecked Sendable {
    let process = Process()
    /// Closing it tells the server to exit.
    let stdin = Pipe()
    let directory: URL
    let output: URL
    let port: Int
    let certificate: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        output = directory.appendingPathComponent("received.jsonl")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("support/smtp_sink.py")
        // An absolute interpreter path runs directly; a bare name (or none) is looked up on PATH.
        let python = ProcessInfo.processInfo.environment["SHIMING_TEST_PYTHON"] ?? "python3"
        if python.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [script.path, output.path, directory.path]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [python, script.path, output.path, directory.path]
        }
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = stdin
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The first line says where it listens; it needs aiosmtpd and openssl (scripts/test installs both).
        var line = Data()
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data([0x0A]) { line.append(byte) }
        let text = String(decoding: line, as: UTF8.self)
        guard let portPart = text.split(separator: " ").first(where: { $0.hasPrefix("port=") }),
              let port = Int(portPart.dropFirst(5)),
              let certPart = text.split(separator: " ").first(where: { $0.hasPrefix("cert=") }) else {
            process.terminate()
            throw DeliveryFailure("the SMTP test server did not start (is aiosmtpd installed? run scripts/test): \(text)")
        }
        self.port = port
        certificate = String(certPart.dropFirst(5))
    }

    var received: [[String: Any]] {
        guard let data = try? Data(contentsOf: output) else { return [] }
        return data.split(separator: 0x0A).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    func stop() {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        for _ in 0..<50 where process.isRunning { usleep(100_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

@Suite("Message channels: SMTP and SMS over HTTP")
struct ChannelTests {
    let mail = OutgoingMessage(
        channel: .email, to: "li@example.com", template: "activation", subject: "请确认您的邮箱",
        text: "您的验证码是 123456。\n.a line that starts with a dot", html: "<p>验证码 <b>123456</b></p>", code: "123456"
    )

    @Test("a multipart UTF-8 mail goes through STARTTLS and AUTH to a real SMTP server")
    func smtpDelivery() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let settings = try SMTPSettings.parse(
            url: "smtp://mailer:secret@localhost:\(server.port)?starttls=required&ca=\(server.certificate)",
            from: "noreply@shiming.test"
        )
        try await SMTPSink(settings: settings).deliver(mail, at: testStart)
        let received = try #require(server.received.first)
        #expect(received["tls"] as? Bool == true)
        #expect(received["authenticated"] as? Bool == true)
        #expect(received["auth"] as? String == "mailer")
        #expect(received["rcpt_tos"] as? [String] == ["li@example.com"])
        #expect(received["mail_from"] as? String == "noreply@shiming.test")
        #expect(received["subject"] as? String == "请确认您的邮箱")
        #expect(received["content_type"] as? String == "multipart/alternative")
        #expect((received["text"] as? String)?.contains("您的验证码是 123456。") == true)
        #expect((received["text"] as? String)?.contains("\n.a line that starts with a dot") == true, "dot-stuffing undone by the server")
        #expect((received["html"] as? String)?.contains("<b>123456</b>") == true)
        #expect((received["from"] as? String)?.contains("noreply@shiming.test") == true)
    }

    @Test("a wrong SMTP password or an untrusted certificate fails the delivery (the outbox retries)")
    func smtpFailures() async throws {
        let server = try SMTPTestServer()
        defer { server.stop() }
        let wrongPassword = try SMTPSettings.parse(
            url: "smtp://mailer:wrong@localhost:\(server.port)?ca=\(server.certificate)", from: "noreply@shiming.test"
        )
        await #expect {
            try await SMTPSink(settings: wrongPassword).deliver(mail, at: testStart)
        } throws: { error in
            String(describing: error).contains("535")
        }
        let untrusted = try SMTPSettings.parse(url: "smtp://mailer:secret@localhost:\(server.port)", from: "noreply@shiming.test")
        await #expect(throws: (any Error).self) { try await SMTPSink(settings: untrusted).deliver(mail, at: testStart) }
        #expect(server.received.isEmpty)
    }

    @Test("SMTP settings come from a URL", arguments: [
        ("smtp://u:p%40ss@mail.example.com", SMTPSettings.Security.opportunistic, 587, String?.some("p@ss")),
        ("smtp://mail.example.com:25?starttls=off", .off, 25, nil),
        ("smtp://mail.example.com?starttls=required", .required, 587, nil),
        ("smtps://u:p@mail.example.com", .implicit, 465, "p"),
    ])
    func smtpSettings(url: String, security: SMTPSettings.Security, port: Int, password: String?) throws {
        let settings = try SMTPSettings.parse(url: url, from: "noreply@example.com")
        #expect(settings.security == security && settings.port == port && settings.password == password)
        #expect(throws: ConfigurationError.self) { try SMTPSettings.parse(url: "http://x", from: "noreply@example.com") }
        #expect(throws: ConfigurationError.self) { try SMTPSettings.parse(url: url, from: "not-an-address") }
    }

    /// A local HTTP receiver standing in for an SMS provider.
    func withReceiver(answer: HTTPStatus, body: String, _ test: (Int, NIOLockedValueBox<[(HTTPHeaders, String)]>) async throws -> Void) async throws {
        let receiver = try await Application.make(.testing)
        let received = NIOLockedValueBox<[(HTTPHeaders, String)]>([])
        receiver.post("send") { req async -> Response in
            received.withLockedValue { $0.append((req.headers, req.body.string ?? "")) }
            return Response(status: answer, body: .init(string: body))
        }
        receiver.http.server.configuration.hostname = "127.0.0.1"
        receiver.http.server.configuration.port = 0
        try await receiver.server.start(address: .hostname("127.0.0.1", port: 0))
        do {
            let port = try #require(receiver.http.server.shared.localAddress?.port)
            try await test(port, received)
        } catch {
            await receiver.server.shutdown()
            try await receiver.asyncShutdown()
            throw error
        }
        await receiver.server.shutdown()
        try await receiver.asyncShutdown()
    }

    @Test("SMS over HTTP: the body template is filled with JSON-escaped values, headers are sent")
    func smsGateway() async throws {
        try await withReceiver(answer: .ok, body: #"{"code":0}"#) { port, received in
            let gateway = HTTPSMSGateway(
                url: "http://127.0.0.1:\(port)/send", headers: ["Authorization": "Bearer sms-key"],
                bodyTemplate: #"{"phone":"{{to}}","content":"{{text}}","tpl":"{{template}}"}"#, successContains: #""code":0"#
            )
            let sms = OutgoingMessage(channel: .sms, to: "13800138000", template: "contact_code", text: "验证码 \"246810\"\n勿告诉他人", code: "246810")
            try await HTTPSMSSink(gateway: gateway, client: HTTPClient.shared).deliver(sms, at: testStart)
            let (headers, body) = try #require(received.withLockedValue { $0.first })
            #expect(headers.first(name: "Authorization") == "Bearer sms-key")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: String])
            #expect(json == ["phone": "13800138000", "content": "验证码 \"246810\"\n勿告诉他人", "tpl": "contact_code"])
        }
    }

    @Test("SMS over HTTP: an error status or a body without the success text fails the delivery")
    func smsGatewayFailure() async throws {
        try await withReceiver(answer: .ok, body: #"{"code":17,"msg":"no balance"}"#) { port, _ in
            let gateway = HTTPSMSGateway(url: "http://127.0.0.1:\(port)/send", successContains: #""code":0"#)
            let sms = OutgoingMessage(channel: .sms, to: "13800138000", template: "t", text: "x")
            await #expect(throws: DeliveryFailure.self) { try await HTTPSMSSink(gateway: gateway, client: HTTPClient.shared).deliver(sms, at: testStart) }
        }
        try await withReceiver(answer: .internalServerError, body: "down") { port, _ in
            let gateway = HTTPSMSGateway(url: "http://127.0.0.1:\(port)/send")
            let sms = OutgoingMessage(channel: .sms, to: "13800138000", template: "t", text: "x")
            await #expect(throws: DeliveryFailure.self) { try await HTTPSMSSink(gateway: gateway, client: HTTPClient.shared).deliver(sms, at: testStart) }
        }
    }
}
