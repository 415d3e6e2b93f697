import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Sends SMS through an HTTP gateway, as Chinese SMS providers offer: a configurable URL,
/// method, headers, a JSON body template and a success criterion.
///
/// The body template's placeholders `{{to}}`, `{{text}}`, `{{code}}` and `{{template}}` are
/// replaced by the JSON-escaped values (without quotes), so
/// `{"phone":"{{to}}","content":"{{text}}"}` stays valid JSON whatever the text contains.
public struct HTTPSMSGateway: Sendable, Equatable {
    public var url: String
    public var method: String
    public var headers: [String: String]
    public var bodyTemplate: String
    /// When set, a 2xx answer also has to contain this text (many gateways answer 200 with an
    /// error code in the body).
    public var successContains: String?

    /// The default body.
    public static let defaultBody = #"{"to":"{{to}}","text":"{{text}}"}"#

    public init(url: String, method: String = "POST", headers: [String: String] = [:], bodyTemplate: String = defaultBody, successContains: String? = nil) {
        self.url = url
        self.method = method
        self.headers = headers
        self.bodyTemplate = bodyTemplate
        self.successContains = successContains
    }

    /// The request body for a message.
    func body(for message: OutgoingMessage) -> String {
        var body = bodyTemplate
        for (placeholder, value) in [("{{to}}", message.to), ("{{text}}", message.text), ("{{code}}", message.code ?? ""), ("{{template}}", message.template)] {
            body = body.replacingOccurrences(of: placeholder, with: Self.jsonEscaped(value))
        }
        return body
    }

    static func jsonEscaped(_ value: String) -> String {
        let data = (try? JSONEncoder().encode(value)) ?? Data("\"\"".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}

/// Delivers SMS through an `HTTPSMSGateway`.
public struct HTTPSMSSink: MessageSink {
    let gateway: HTTPSMSGateway
    let client: HTTPClient

    public init(gateway: HTTPSMSGateway, client: HTTPClient) {
        self.gateway = gateway
        self.client = client
    }

    public var description: String { "sms-http:\(gateway.url)" }

    public func deliver(_ message: OutgoingMessage, at: Date) async throws {
        var request = HTTPClientRequest(url: gateway.url)
        request.method = HTTPMethod(rawValue: gateway.method.uppercased())
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        for (name, value) in gateway.headers { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: gateway.body(for: message)))
        let response = try await client.execute(request, timeout: .seconds(15))
        let body = String(buffer: try await response.body.collect(upTo: 64 * 1024))
        guard (200..<300).contains(Int(response.status.code)) else {
            throw DeliveryFailure("SMS gateway answered \(response.status.code): \(body.prefix(200))")
        }
        if let expected = gateway.successContains, !body.contains(expected) {
            throw DeliveryFailure("SMS gateway answered without \(expected): \(body.prefix(200))")
        }
    }
}

/// Why a delivery failed (kept in the outbox row for admins).
public struct DeliveryFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Sends each message through the sink for its channel; channels without their own sink use
/// the fallback (the file sink by default).
public struct RoutingMessageSink: MessageSink {
    let routes: [OutgoingMessage.Channel: any MessageSink]
    let fallback: any MessageSink

    public init(routes: [OutgoingMessage.Channel: any MessageSink], fallback: any MessageSink) {
        self.routes = routes
        self.fallback = fallback
    }

    public var description: String {
        let parts = OutgoingMessage.Channel.allCases.map { "\($0.rawValue) → \((routes[$0] ?? fallback).description)" }
        return parts.joined(separator: ", ")
    }

    public func deliver(_ message: OutgoingMessage, at: Date) async throws {
        try await (routes[message.channel] ?? fallback).deliver(message, at: at)
    }
}
