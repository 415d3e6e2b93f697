import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import ShimingCore

/// Delivers webhooks to the platforms: `POST` of the JSON body with
/// `X-Shiming-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` (one `v1` per secret in
/// force: two during a rotation), `X-Shiming-Event` and `X-Shiming-Delivery`. A 2xx answer
/// within 10 s is a delivery; anything else is retried by the outbox on its webhook schedule.
/// The signature is made at each attempt, so its time is the attempt's.
struct WebhookSink: MessageSink {
    /// The platform's signing secrets at delivery time.
    let secrets: @Sendable (UUID, Date) async throws -> [String]
    let client: HTTPClient
    /// Where a copy of each delivered webhook also goes (the development sink of API.md).
    let mirror: (any MessageSink)?

    var description: String { "webhook-http" }

    static let timeout: TimeAmount = .seconds(10)

    func deliver(_ message: OutgoingMessage, at: Date) async throws {
        guard let platform = message.platform, let delivery = message.deliveryID else {
            throw DeliveryFailure("webhook without platform or delivery id")
        }
        let keys = try await secrets(platform, at)
        guard !keys.isEmpty else { throw DeliveryFailure("platform no longer exists") }
        var request = HTTPClientRequest(url: message.to)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Shiming-Webhooks/1")
        request.headers.add(name: "X-Shiming-Signature", value: Self.signature(body: message.text, secrets: keys, at: at))
        request.headers.add(name: "X-Shiming-Event", value: message.template)
        request.headers.add(name: "X-Shiming-Delivery", value: delivery.uuidString)
        request.body = .bytes(ByteBuffer(string: message.text))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: Self.timeout)
        } catch {
            throw DeliveryFailure("no answer: \(String(describing: error).prefix(120))")
        }
        _ = try? await response.body.collect(upTo: 16 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw DeliveryFailure("HTTP \(response.status.code)")
        }
        if let mirror { try? await mirror.deliver(message, at: at) }
    }

    /// `t=<unix seconds>,v1=<hex>[,v1=<hex>]`: HMAC-SHA256 of `"<t>.<body>"` under each secret.
    static func signature(body: String, secrets: [String], at: Date) -> String {
        let t = String(Int64(at.timeIntervalSince1970))
        let signed = Data((t + "." + body).utf8)
        let parts = secrets.map { secret in
            "v1=" + Hex.encode(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8))))
        }
        return (["t=" + t] + parts).joined(separator: ",")
    }
}
