import Crypto
import Fluent
import Foundation
import Prometheus
import ShimingCore
import SQLKit
import Vapor

/// Operational endpoints: health, metrics, the API description and deployment facts.
struct SystemController {
    func register(_ routes: any RoutesBuilder) {
        routes.on(.GET, "healthz", documentation: APIOperation(
            "getHealth", summary: "Health: 200 once the database answers and is migrated", tag: "system",
            responses: [200: .init("Healthy", schema: .ref("Health")), 503: .init("Unhealthy", schema: .ref("Error"))],
            components: ["Health": .object(["status": .string(allowed: ["ok"])], required: ["status"])]
        ), use: health)
        routes.on(.GET, "metrics", documentation: APIOperation(
            "getMetrics", summary: "Prometheus metrics (text exposition format)", tag: "system",
            responses: [200: .init("Metrics", schema: .string(), contentType: "text/plain")]
        ), use: metrics)
        routes.on(.GET, "openapi.json", documentation: APIOperation(
            "getOpenAPI", summary: "This document", tag: "system",
            responses: [200: .init("OpenAPI 3.1 document", schema: .object([:]))]
        ), use: openAPI)
        routes.on(.GET, "api", "v1", "info", documentation: APIOperation(
            "getInfo", summary: "Deployment facts for clients: version, languages, server time", tag: "system",
            responses: [200: .init("Deployment facts", schema: .ref("Info"))],
            components: ["Info": .object([
                "name": .string(),
                "version": .string(),
                "languages": .array(.string()),
                "defaultLanguage": .string(),
                "serverTime": .string(format: "date-time"),
            ], required: ["name", "version", "languages", "defaultLanguage", "serverTime"])]
        ), use: info)
    }

    struct Health: Content {
        var status: String
    }

    @Sendable func health(_ req: Request) async throws -> Health {
        do {
            guard let sql = req.db as? any SQLDatabase else { throw HealthFailure() }
            let names = try await sql.raw("SELECT name FROM _fluent_migrations").all()
                .map { try $0.decode(column: "name", as: String.self) }
            let applied = Set(names)
            guard ShimingMigrations.all.allSatisfy({ applied.contains($0.name) }) else { throw HealthFailure() }
        } catch {
            req.logger.warning("Health check failed: \(String(reflecting: error))")
            throw UserFacingError(
                code: "unhealthy", kind: .unavailable,
                message: LocalizedText("数据库不可用或尚未完成迁移。", "The database is unreachable or not migrated.")
            )
        }
        return Health(status: "ok")
    }

    private struct HealthFailure: Error {}

    @Sendable func metrics(_ req: Request) async throws -> Response {
        if let token = req.shiming.configuration.metricsToken {
            guard let sent = req.headers.bearerToken,
                  SecretHasher.equal(SHA256.hash(data: Data(sent.utf8)).description, SHA256.hash(data: Data(token.utf8)).description) else {
                throw HTTPFailure.error(for: .unauthorized)
            }
        }
        let registry = req.shiming.metrics
        // Gauges read at scrape time; a failing query must not hide the request metrics.
        if let counts = try? await Outbox.statusCounts(on: req.db) {
            for (status, count) in counts {
                registry.makeGauge(
                    descriptor: .init(metricName: "outbox_messages", unitName: "", helpText: "Outbox messages by delivery status"),
                    labels: [("status", status.rawValue)]
                ).set(Double(count))
            }
        }
        if let queues = try? await Store(req.db, context: req.shiming).reviewTasks.queues(at: req.now) {
            for program in req.shiming.programs.programs {
                let queue = queues[program.key] ?? .init()
                let labels = [("program", program.key)]
                registry.makeGauge(descriptor: .init(metricName: "review_queue_length", unitName: "", helpText: "Open review tasks"),
                                   labels: labels).set(Double(queue.open))
                registry.makeGauge(descriptor: .init(metricName: "review_queue_unclaimed", unitName: "", helpText: "Open review tasks nobody has claimed"),
                                   labels: labels).set(Double(queue.unclaimed))
                registry.makeGauge(descriptor: .init(metricName: "review_queue_overdue", unitName: "", helpText: "Open review tasks past their due time"),
                                   labels: labels).set(Double(queue.overdue))
                registry.makeGauge(descriptor: .init(metricName: "review_oldest_task_age", unitName: "seconds", helpText: "Age of the oldest open review task"),
                                   labels: labels).set(queue.oldestAge)
            }
        }
        // How writes are grouped since the process started: transactions per group is how many
        // share one commit (one flush to disk); queries per batch, one transaction.
        let gate = req.shiming.writeGate
        registry.makeGauge(descriptor: .init(metricName: "write_transactions", unitName: "", helpText: "Write transactions ended in groups since start"))
            .set(Double(gate.grouped))
        registry.makeGauge(descriptor: .init(metricName: "write_groups", unitName: "", helpText: "Groups of write transactions committed since start"))
            .set(Double(gate.commits))
        registry.makeGauge(descriptor: .init(metricName: "verification_query_batches", unitName: "",
                                             helpText: "Batches the verification queries were written in since start"))
            .set(Double(req.shiming.queryCalls.batches))
        registry.makeGauge(descriptor: .init(metricName: "verification_query_batches_in_one_statement", unitName: "",
                                             helpText: "Batches of verification queries written in one statement, as expected, since start"))
            .set(Double(req.shiming.queryExpectations.met))
        registry.makeGauge(descriptor: .init(metricName: "verification_query_batches_not_as_expected", unitName: "",
                                             helpText: "Batches of verification queries not written as expected (then the long way) since start"))
            .set(Double(req.shiming.queryExpectations.unmet))
        var headers = HTTPHeaders()
        headers.contentType = .init(type: "text", subType: "plain", parameters: ["version": "0.0.4", "charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(string: registry.emitToString()))
    }

    @Sendable func openAPI(_ req: Request) async throws -> Response {
        let data = try OpenAPIDocument.json(routes: req.application.routes.all, version: ShimingVersion.current)
        var headers = HTTPHeaders()
        headers.contentType = .init(type: "application", subType: "json", parameters: ["charset": "utf-8"])
        return Response(status: .ok, headers: headers, body: .init(data: data))
    }

    struct Info: Content {
        var name: String
        var version: String
        var languages: [String]
        var defaultLanguage: String
        var serverTime: Date
    }

    @Sendable func info(_ req: Request) async throws -> Info {
        Info(
            name: "Shiming",
            version: ShimingVersion.current,
            languages: Lang.allCases.map(\.rawValue),
            defaultLanguage: Lang.default.rawValue,
            serverTime: req.now
        )
    }
}

/// The release version, reported by `/api/v1/info` and the OpenAPI document.
public enum ShimingVersion {
    public static let current = "0.1.0"
}
