import Crypto
import Fluent
import FluentPostgresDriver
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// The instant every test starts at (the day the test corpus was labelled).
let testStart = Date(timeIntervalSince1970: 1_795_248_000)  // 2026-11-21T08:00:00Z

/// A fixed master key for tests (base64 of 32 bytes).
let testEncryptionKey = Data((0..<32).map { UInt8($0) }).base64EncodedString()

/// Which engine the app-level suites run on: PostgreSQL when the test script provides
/// `SHIMING_TEST_DATABASE_URL`, else a temporary SQLite file per test.
enum TestEngine {
    static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment["SHIMING_TEST_DATABASE_URL"], !url.isEmpty else { return nil }
        return url
    }
    static var name: String { postgresURL == nil ? "sqlite" : "postgres" }
}

/// A configured application and the test doubles it was built with.
struct TestShiming: Sendable {
    let app: Application
    let clock: ManualClock
    let sink: RecordingMessageSink
    let configuration: ShimingConfiguration

    var db: any Database { app.db }
    /// The key the audit chain is made with.
    var auditKey: MACKey { app.shiming.keyRing.macKey(for: .auditChain) }

    /// Runs a request against the in-memory server.
    func send(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders = [:], json: (any Encodable)? = nil
    ) async throws -> TestingHTTPResponse {
        var headers = headers
        var body: ByteBuffer?
        if let json {
            headers.contentType = .json
            body = ByteBuffer(data: try JSONEncoder().encode(json))
        }
        return checked(method, path, try await app.testing().sendRequest(method, path, headers: headers, body: body))
    }

    /// The response, after its JSON body was checked against the served OpenAPI document.
    func checked(_ method: HTTPMethod, _ path: String, _ response: TestingHTTPResponse) -> TestingHTTPResponse {
        for problem in ResponseSchemas(app: app).problems(method: method, path: path, response: response) {
            Issue.record("response does not match /openapi.json: \(problem)")
        }
        return response
    }

    /// Delivers due outbox messages: SMS and e-mail into the recording sink, webhooks over HTTP
    /// to the platforms (as `serve` routes them).
    @discardableResult
    func deliverOutbox() async throws -> DeliveryReport {
        try await Outbox(cipher: app.shiming.cipher, keys: app.shiming.accountKeys).deliverDue(
            sink: app.shiming.messageSink, now: clock.now(), on: app.db, gate: app.shiming.writeGate, logger: app.logger
        )
    }
}

/// Builds a fully configured Shiming on a fresh database (a temp SQLite file, or a new
/// PostgreSQL database in the test cluster), migrates it, runs `body` and shuts down.
/// (Deliberately not named `withApp`: VaporTesting's own `withApp` builds an unconfigured app.)
func withShiming<T>(
    dataDirectory: String? = nil,
    identityService: (any IdentityService)? = nil,
    passwordHasher: (any ShimingServer.PasswordHasher)? = nil,
    adjust: (inout ShimingConfiguration) -> Void = { _ in },
    _ body: (TestShiming) async throws -> T
) async throws -> T {
    let directory = dataDirectory ?? FileManager.default.temporaryDirectory
        .appendingPathComponent("shiming-test-\(UUID().uuidString.prefix(8))").path
    let app = try await Application.make(.testing)
    let clock = ManualClock(testStart)
    let sink = RecordingMessageSink()
    do {
        let database: ShimingConfiguration.Database
        if let url = TestEngine.postgresURL {
            database = .postgres(url: try await TestPostgres.freshDatabase(baseURL: url, app: app))
        } else {
            database = .sqlite(path: ShimingConfiguration.defaultSQLitePath(in: directory))
        }
        var configuration = testConfiguration(dataDirectory: directory, database: database)
        adjust(&configuration)
        try await configure(app, configuration: configuration, services: Services(clock: clock, messageSink: sink, passwordHasher: passwordHasher,
                                                                                   identityService: identityService))
        try await app.autoMigrate()
        let result = try await body(TestShiming(app: app, clock: clock, sink: sink, configuration: configuration))
        try await app.asyncShutdown()
        return result
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
}

/// `withShiming` with the master key in a key file of its own (as rotation needs), passed to
/// `body` with the server.
func withShimingKeyFile<T>(_ body: (TestShiming, String) async throws -> T) async throws -> T {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let keyPath = (folder as NSString).appendingPathComponent("master.key")
    #expect(MasterKey.createPrivately(keyPath, contents: Data((testEncryptionKey + "\n").utf8)))
    return try await withShiming(adjust: { $0.encryptionKey = .file(path: keyPath) }) { try await body($0, keyPath) }
}

func testConfiguration(dataDirectory: String, database: ShimingConfiguration.Database) -> ShimingConfiguration {
    var configuration = ShimingConfiguration(
        dataDirectory: dataDirectory,
        database: database,
        hostname: "127.0.0.1",
        port: 0,
        logLevel: .warning,
        logFormat: .text,
        messageSink: .file(path: (dataDirectory as NSString).appendingPathComponent("messages.jsonl")),
        encryptionKey: .inline(testEncryptionKey),
        outboxPollInterval: 1,
        publicURL: "http://shiming.test",
        bcryptCost: 4
    )
    configuration.helpPhone = "400-800-1234"
    // The suites run in parallel on a small machine: the race tests' requests may wait long for
    // a connection, and a 503 there would say more about the machine than about the counters.
    configuration.databasePoolTimeout = 60
    // The tests' webhook receivers listen on 127.0.0.1.
    configuration.webhookAllowPrivate = true
    return configuration
}

/// Per-test PostgreSQL databases, so suites run in parallel without seeing each other's rows.
enum TestPostgres {
    static func freshDatabase(baseURL: String, app: Application) async throws -> String {
        guard var components = URLComponents(string: baseURL) else { throw URLError(.badURL) }
        let name = "shiming_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = DatabaseID(string: "test-admin")
        app.databases.use(try .postgres(url: baseURL), as: admin, isDefault: false)
        guard let sql = app.db(admin) as? any SQLDatabase else { throw URLError(.badURL) }
        try await sql.raw("CREATE DATABASE \(unsafeRaw: name)").run()
        components.path = "/" + name
        return components.string!
    }
}

extension TestingHTTPResponse {
    /// The body decoded as JSON into `T`.
    func json<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: Data(buffer: body))
    }

    /// The body as text.
    var text: String { String(buffer: body) }

    /// The API error in the body (API.md's error shape).
    var apiError: ErrorResponse.Detail? { try? json(ErrorResponse.self).error }
}
