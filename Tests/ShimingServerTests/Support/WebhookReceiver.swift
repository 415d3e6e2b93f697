import Foundation
import NIOConcurrencyHelpers
import Vapor

/// A platform's webhook endpoint for the tests: a real HTTP server on 127.0.0.1 (its own Vapor
/// application on a free port) that records every request and can be told to fail.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        var headers: HTTPHeaders
        var body: String
    }

    private struct State {
        var received: [Received] = []
        var failuresToGive = 0
    }

    private let state = NIOLockedValueBox(State())
    let app: Application
    let port: Int

    var url: String { "http://127.0.0.1:\(port)/hooks/shiming" }
    var received: [Received] { state.withLockedValue { $0.received } }

    /// Answers the next `count` requests with 500 (they are still recorded).
    func fail(next count: Int) { state.withLockedValue { $0.failuresToGive = count } }

    private init(app: Application, port: Int) {
        self.app = app
        self.port = port
    }

    static func start() async throws -> WebhookReceiver {
        let app = try await Application.make(.testing)
        app.logger.logLevel = .warning
        app.http.server.configuration.hostname = "127.0.0.1"
        app.http.server.configuration.port = 0
        let box = NIOLockedValueBox<WebhookReceiver?>(nil)
        app.post("hooks", "shiming") { req -> HTTPStatus in
            guard let receiver = box.withLockedValue({ $0 }) else { return .serviceUnavailable }
            return receiver.record(Received(headers: req.headers, body: req.body.string ?? ""))
        }
        try await app.server.start(address: .hostname("127.0.0.1", port: 0))
        guard let port = app.http.server.shared.localAddress?.port else { throw URLError(.cannotConnectToHost) }
        let receiver = WebhookReceiver(app: app, port: port)
        box.withLockedValue { $0 = receiver }
        return receiver
    }

    private func record(_ request: Received) -> HTTPStatus {
        state.withLockedValue { state in
            state.received.append(request)
            if state.failuresToGive > 0 {
                state.failuresToGive -= 1
                return .internalServerError
            }
            return .ok
        }
    }

    func stop() async throws {
        await app.server.shutdown()
        try await app.asyncShutdown()
    }
}

extension WebhookReceiver {
    /// Runs `body` with a receiver that is stopped afterwards, whatever happens.
    static func with<T>(_ body: (WebhookReceiver) async throws -> T) async throws -> T {
        let receiver = try await start()
        do {
            let result = try await body(receiver)
            try await receiver.stop()
            return result
        } catch {
            try? await receiver.stop()
            throw error
        }
    }
}
