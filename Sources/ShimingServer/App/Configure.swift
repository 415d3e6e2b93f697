import Fluent
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Prometheus
import ShimingCore
import Vapor

/// Builds the whole application from its configuration and injected services. Production,
/// tests and tools all go through here; nothing is global except Vapor's JSON settings.
public func configure(
    _ app: Application,
    configuration: ShimingConfiguration,
    services: Services = Services()
) async throws {
    app.logger.logLevel = configuration.logLevel
    try FileManager.default.createDirectory(
        atPath: configuration.dataDirectory, withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700]
    )

    let masterKeys = MasterKeys(try MasterKey.load(configuration.encryptionKey, random: services.random, logger: app.logger),
                                path: MasterKey.path(of: configuration.encryptionKey))
    // The keys that never change (audit chain, pairwise subjects, secret hashes, blind indexes)
    // and the current version's id; sealing and wrapping ask `masterKeys` for the version.
    let keyRing = masterKeys.current

    let isSQLite: Bool = if case .sqlite = configuration.database { true } else { false }
    if isSQLite {
        // The key store's statements (SQLiteNIO's connections) and file reads run on the
        // application's pool: enough threads that neither queues behind the other. The main
        // file's statements run on their callers' threads (`DirectSQLiteDatabase`); password
        // hashing has a pool of its own.
        app.threadPool = NIOThreadPool(numberOfThreads: 3 * System.coreCount)
    }

    switch configuration.database {
    case .sqlite(let path):
        // Statements run on their callers' threads, from statements kept prepared.
        app.databases.use(DirectSQLiteConfiguration(source: .pool(SQLiteHandlePool(path: path))), as: .sqlite)
        // The accounts' data keys in a file of their own: a copy of the database holds none.
        // Readable by this user only, from the moment it exists (its log files take its mode).
        let keyStore = (configuration.dataDirectory as NSString).appendingPathComponent("keys.sqlite")
        if !FileManager.default.fileExists(atPath: keyStore) { _ = MasterKey.createPrivately(keyStore, contents: Data()) }
        for suffix in ["", "-wal", "-shm"] { _ = chmod(keyStore + suffix, 0o600) }
        app.databases.use(.sqlite(.file(keyStore), sqlLogLevel: .trace), as: .keys, isDefault: false)
    case .postgres(let url):
        do {
            // Statements given as SQL are kept prepared on each connection (`PreparedPostgresDatabase`).
            app.databases.use(try PreparedPostgresConfiguration(url: url, connectionsPerLoop: configuration.databaseConnectionsPerLoop,
                                                                poolTimeout: configuration.databasePoolTimeout), as: .psql)
            // The key store (`account_keys`) on a small pool of its own: a transaction that
            // needs an account's key never waits for a connection the transactions hold.
            app.databases.use(try PreparedPostgresConfiguration(url: url, connectionsPerLoop: 2, poolTimeout: configuration.databasePoolTimeout),
                              as: .keys, isDefault: false)
        } catch {
            throw ConfigurationError(variable: "DATABASE_URL", problem: "is not a valid PostgreSQL URL: \(error)")
        }
    }
    if isSQLite {
        // WAL lets readers proceed while one writer commits; the setting persists in the file.
        try await SQLiteTuning.apply(on: app.db)
        try await SQLiteTuning.apply(on: app.db(.keys))
    }
    for migration in ShimingMigrations.all {
        app.migrations.add(migration)
    }
    // On PostgreSQL the key store is the same database: its table is migrated with the rest
    // (two migrators setting up one database at once would race on the migration log).
    if isSQLite { app.migrations.add(CreateAccountKeys(), to: .keys) } else { app.migrations.add(CreateAccountKeys()) }
    let accountKeyCache = AccountKeyCache()
    // The write gate's transactions run on a connection and a thread of their own.
    let writer: GateWriter
    switch configuration.database {
    case .sqlite(let path):
        writer = try GateWriter.sqlite(path: path, threadPool: app.threadPool, logger: app.logger)
    case .postgres(let url):
        writer = try GateWriter.postgres(url: url, poolTimeout: configuration.databasePoolTimeout, threadPool: app.threadPool, logger: app.logger)
    }
    app.lifecycle.use(GateWriter.Shutdown(writer: writer))
    let keyDatabases = LoopDatabases(app, id: .keys)
    let accountKeys = AccountKeys(database: { keyDatabases.current }, gate: WriteGate(serialises: isSQLite), cache: accountKeyCache,
                                  masters: masterKeys, random: services.random, clock: services.clock)

    let baseSink: any MessageSink = services.messageSink ?? {
        let fallback: any MessageSink = switch configuration.messageSink {
        case .file(let path): FileMessageSink(path: path)
        }
        var routes: [OutgoingMessage.Channel: any MessageSink] = [:]
        if let smtp = configuration.smtp { routes[.email] = SMTPSink(settings: smtp) }
        if let gateway = configuration.smsGateway { routes[.sms] = HTTPSMSSink(gateway: gateway, client: app.http.client.shared) }
        return routes.isEmpty ? fallback : RoutingMessageSink(routes: routes, fallback: fallback)
    }()
    // Webhooks always go to the platforms over HTTP (a copy to the development sink), signed
    // with the platform's secrets as they are at delivery.
    let webhooks = WebhookSink(secrets: { [app] platform, now in try await app.features.platforms.signingSecrets(platform, at: now) },
                               client: app.http.client.shared, mirror: baseSink)
    let messageSink: any MessageSink = RoutingMessageSink(routes: [.webhook: webhooks], fallback: baseSink)

    let programs = try ProgramCatalog.load(directory: (configuration.dataDirectory as NSString).appendingPathComponent("programs"))
    for program in programs.programs where programs.sources[program.key] != "preset" {
        app.logger.notice("Program \(program.key) loaded from \(programs.sources[program.key] ?? "?")")
    }

    let reasonsFile = (configuration.dataDirectory as NSString).appendingPathComponent("review-reasons.yaml")
    let reviewReasons = try ReviewReasonList.load(file: reasonsFile)
    if FileManager.default.fileExists(atPath: reasonsFile) { app.logger.notice("Review reasons loaded from \(reasonsFile)") }

    let registry = PrometheusCollectorRegistry()
    app.shiming = ShimingContext(
        configuration: configuration,
        services: services,
        messageSink: messageSink,
        keyRing: keyRing,
        masterKeys: masterKeys,
        cipher: FieldCipher(masters: masterKeys, accountKeys: accountKeyCache),
        accountKeys: accountKeys,
        blindIndex: BlindIndex(masters: masterKeys),
        metrics: registry,
        writeGate: WriteGate(serialises: isSQLite, writer: writer),
        passwordHasher: services.passwordHasher
            ?? BcryptPasswordHasher(cost: configuration.bcryptCost, threadPool: .started(threads: System.coreCount, app: app)),
        files: SealedFiles(
            store: services.fileStore ?? DirectoryFileStore.started(
                root: (configuration.dataDirectory as NSString).appendingPathComponent("files"), app: app),
            masters: masterKeys,
            accountKeys: accountKeys,
            random: services.random
        ),
        programs: programs,
        identityService: services.identityService ?? configuration.identityService.map {
            HTTPIdentityService(settings: $0, client: app.http.client.shared, clock: services.clock)
        },
        reviewReasons: reviewReasons,
        consents: try ConsentCatalog(directory: (configuration.dataDirectory as NSString).appendingPathComponent("consents"))
    )

    JSONCoding.install()

    app.http.server.configuration.hostname = configuration.hostname
    app.http.server.configuration.port = configuration.port
    // Requests are counted and timed by `RequestMetricsMiddleware` into `/metrics`; Vapor's own
    // report goes to swift-metrics, which nothing here reads (a route label and two lookups a request).
    app.http.server.configuration.reportMetrics = false

    // The services, built once and handed to everything that uses them.
    let databases = LoopDatabases(app)
    let features = Features(context: app.shiming, database: { databases.current })
    app.features = features

    app.middleware = Middlewares()
    app.middleware.use(RequestLogMiddleware())
    app.middleware.use(RequestMetricsMiddleware(registry: registry))
    app.middleware.use(SecurityHeadersMiddleware())
    app.middleware.use(PageModeMiddleware())
    app.middleware.use(ShimingErrorMiddleware())
    app.middleware.use(MethodNotAllowedMiddleware())
    app.middleware.use(SessionAuthenticator(accounts: features.accounts))
    app.middleware.use(PlatformAuthenticator(platforms: features.platforms))
    // Vapor's responder with a router that decodes a parameter only when it is read (`RouteTable`).
    app.responder.use { app in ShimingResponder(routes: app.routes, middleware: app.middleware.resolve()) }

    SystemController().register(app.routes)
    WebController().register(app.routes)
    AccountsController(features: features).register(app.routes)
    StaffController(features: features).register(app.routes)
    ProfileController(features: features).register(app.routes)
    AdminController(features: features).register(app.routes)
    ChangeRequestsController(features: features).register(app.routes)
    ProgramsController().register(app.routes)
    WebAccountsController(features: features).register(app.routes)
    WebPasswordController(features: features).register(app.routes)
    WebChangeRequestsController(features: features).register(app.routes)
    WebStaffController(features: features).register(app.routes)
    WebReviewController(features: features).register(app.routes)
    WebExceptionsController(features: features).register(app.routes)
    CasesController(features: features).register(app.routes)
    WebCasesController(features: features).register(app.routes)
    ReviewController(features: features).register(app.routes)
    ExceptionsController(features: features).register(app.routes)
    RosterController().register(app.routes)
    PlatformsController(features: features).register(app.routes)
    GrantsController(features: features).register(app.routes)
    WebVerifyController(features: features).register(app.routes)
    WebGrantsController(features: features).register(app.routes)
    WebPlatformsController(features: features).register(app.routes)
    RightsController(features: features).register(app.routes)
    WebRightsController(features: features).register(app.routes)
    ConsentsController(features: features).register(app.routes)
    WebConsentsController(features: features).register(app.routes)
    DeletionController(features: features).register(app.routes)
    WebDeletionController(features: features).register(app.routes)

    app.asyncCommands.use(ShimingServeCommand(vaporServe: await app.servers.asyncCommand), as: "serve", isDefault: true)
    app.asyncCommands.use(ShimingMigrateCommand(), as: "migrate")
    app.asyncCommands.use(AuditCommands(), as: "audit")
    app.asyncCommands.use(RetentionCommands(), as: "retention")
    app.asyncCommands.use(KeyCommands(), as: "keys")
    app.asyncCommands.use(AdminCommands(), as: "admin")
    app.asyncCommands.use(RosterCommands(), as: "roster")
}

extension DatabaseID {
    /// The key store: its own SQLite file (`keys.sqlite` in the data dir), or its own pool of
    /// connections to the PostgreSQL database.
    static let keys = DatabaseID(string: "keys")
}

/// Engine settings for the embedded SQLite file.
enum SQLiteTuning {
    static func apply(on db: any Database) async throws {
        try await SQLDialectSwitch.run(on: db, sqlite: ["PRAGMA journal_mode=WAL"], postgres: [])
    }
}

/// RFC 3339 timestamps in every JSON body (API.md). Vapor keeps JSON coders process-wide, so
/// they are installed once, however many applications a process builds (tests build many).
enum JSONCoding {
    static func install() { _ = installed }

    /// The API's JSON encoder, as installed for `application/json`.
    static let encoder: SortedJSONContentEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        // Sorted keys: the same answer is byte-for-byte the same (Linux orders keys at random).
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return SortedJSONContentEncoder(fallback: encoder)
    }()

    private static let installed: Void = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        ContentConfiguration.global.use(encoder: encoder, for: .json)
        ContentConfiguration.global.use(decoder: DirectJSONContentDecoder(fallback: decoder), for: .json)
    }()
}

/// The API's JSON bodies, written by `SortedJSON` as `fallback` (sorted keys, ISO 8601 dates,
/// slashes not escaped) would write them, and by `fallback` itself where `SortedJSON` cannot.
struct SortedJSONContentEncoder: ContentEncoder {
    let fallback: JSONEncoder

    func encode<E: Encodable>(_ encodable: E, to body: inout ByteBuffer, headers: inout HTTPHeaders) throws {
        try encode(encodable, to: &body, headers: &headers, userInfo: [:])
    }

    func encode<E: Encodable>(_ encodable: E, to body: inout ByteBuffer, headers: inout HTTPHeaders,
                              userInfo: [CodingUserInfoKey: any Sendable]) throws {
        if userInfo.isEmpty, let bytes = try? SortedJSON(escapesSlashes: false).encode(encodable) {
            headers.contentType = .json
            body.writeBytes(bytes)
        } else {
            try fallback.encode(encodable, to: &body, headers: &headers, userInfo: userInfo)
        }
    }
}

/// The API's JSON bodies, read by `DirectJSON` as `fallback` would read them, and by `fallback`
/// itself where `DirectJSON` has no answer: a body it refuses gets `fallback`'s error, so the
/// fields a 422 names are the same.
struct DirectJSONContentDecoder: ContentDecoder {
    let fallback: JSONDecoder
    let direct: DirectJSON

    init(fallback: JSONDecoder) {
        self.fallback = fallback
        if case .iso8601 = fallback.dateDecodingStrategy {
            direct = DirectJSON(readsISO8601Dates: true)
        } else {
            direct = DirectJSON(readsISO8601Dates: false)
        }
    }

    func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders) throws -> D {
        try decode(decodable, from: body, headers: headers, userInfo: [:])
    }

    func decode<D: Decodable>(_ decodable: D.Type, from body: ByteBuffer, headers: HTTPHeaders,
                              userInfo: [CodingUserInfoKey: any Sendable]) throws -> D {
        if userInfo.isEmpty, let tree = body.withUnsafeReadableBytes({ try? JSONTree.parse($0) }),
           let value = try? direct.decode(D.self, from: tree) {
            return value
        }
        return try fallback.decode(decodable, from: body, headers: headers, userInfo: userInfo)
    }
}
