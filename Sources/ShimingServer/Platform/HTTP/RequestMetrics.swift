import Prometheus
import Vapor

/// Counts requests and records their latency in the app's Prometheus registry, labelled by the
/// route pattern (not the raw path, which would make one series per id).
struct RequestMetricsMiddleware: AsyncMiddleware {
    let registry: PrometheusCollectorRegistry

    static let buckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let start = ContinuousClock.now
        // The error middleware sits inside this one, so errors arrive here as responses.
        let response = try await next.respond(to: request)
        let elapsed = ContinuousClock.now - start
        let route = Self.routeLabel(request)
        let method = request.method.rawValue
        registry.makeCounter(
            descriptor: .init(metricName: "http_requests", unitName: "total", helpText: "HTTP requests served"),
            labels: [("method", method), ("route", route), ("status", String(response.status.code))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency"),
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets
        ).record(elapsed)
        return response
    }

    static func routeLabel(_ request: Request) -> String {
        guard let route = request.route else { return "unmatched" }
        return "/" + route.path.map(\.description).joined(separator: "/")
    }
}

/// Headers that make every page safer in a browser: no sniffing, no framing, no third-party
/// resources (everything Shiming serves comes from itself).
struct SecurityHeadersMiddleware: AsyncMiddleware {
    func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let response = try await next.respond(to: request)
        response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
        response.headers.replaceOrAdd(name: "X-Frame-Options", value: "DENY")
        response.headers.replaceOrAdd(name: "Referrer-Policy", value: "same-origin")
        response.headers.replaceOrAdd(name: "Content-Security-Policy", value: Self.policy(formTargets: request.formTargets))
        if request.application.shiming.configuration.publicURL.hasPrefix("https://") {
            // Served over TLS: browsers keep to https for a year.
            response.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000; includeSubDomains")
        }
        return response
    }

    /// The page policy; forms post to Shiming itself and, where a page says so, to the origins
    /// its answer redirects to (the hosted consent screen returns to the platform).
    static func policy(formTargets: [String]) -> String {
        let targets = (["'self'"] + formTargets).joined(separator: " ")
        return "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action \(targets); frame-ancestors 'none'"
    }
}

extension Request {
    private struct FormTargetsKey: StorageKey {
        typealias Value = [String]
    }

    /// Other origins a form on this page may end up at (through a redirect after posting).
    var formTargets: [String] {
        get { storage[FormTargetsKey.self] ?? [] }
        set { storage[FormTargetsKey.self] = newValue }
    }
}
