import Fluent
import SQLKit
import Vapor

/// `shiming serve [--hostname H] [--port P]`: migrates, says where everything is, starts the
/// outbox worker and serves HTTP (Vapor's own serve command does the serving).
struct ShimingServeCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "hostname", short: "H", help: "Address to listen on (default 127.0.0.1, or SHIMING_HOSTNAME).")
        var hostname: String?

        @Option(name: "port", short: "p", help: "Port to listen on (default 8080, or PORT).")
        var port: Int?
    }

    let vaporServe: ServeCommand

    var help: String { "Migrates the database if needed and serves Shiming over HTTP." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        if let hostname = signature.hostname { app.http.server.configuration.hostname = hostname }
        if let port = signature.port {
            guard (1...65535).contains(port) else {
                throw ConfigurationError(variable: "--port", problem: "must be between 1 and 65535")
            }
            app.http.server.configuration.port = port
        }

        try await app.shimingMigrate()
        let leftovers = RightsController.removeLeftoverExports(dataDirectory: app.shiming.configuration.dataDirectory, now: Date())
        if leftovers > 0 { app.logger.notice("Removed \(leftovers) data exports left behind by an earlier run") }

        for worker in [OutboxWorker.make(app), CaseSweeper.make(app), AuditCheckpointWorker.make(app)] {
            app.lifecycle.use(worker)
            worker.start()
        }

        let config = app.shiming.configuration
        let server = app.http.server.configuration
        let shownHost = server.hostname == "0.0.0.0" ? "localhost" : server.hostname
        context.console.print("Shiming \(ShimingVersion.current)")
        context.console.print("  URL:          http://\(shownHost):\(server.port)/")
        context.console.print("  Data dir:     \(config.dataDirectory)")
        context.console.print("  Database:     \(config.databaseDescription)")
        context.console.print("  Message sink: \(app.shiming.messageSink.description)")

        var serveContext = context
        serveContext.input = CommandInput(arguments: ["shiming serve"])
        try await vaporServe.run(using: &serveContext)
    }
}

/// `shiming migrate`: applies pending migrations without prompting (safe to run repeatedly).
struct ShimingMigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Applies pending database migrations." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        let before = try await AppliedMigrations.count(on: app.db)
        try await app.shimingMigrate()
        let after = try await AppliedMigrations.count(on: app.db)
        context.console.print("Migrations: \(after - before) applied now, \(after) in total (\(app.shiming.configuration.databaseDescription)).")
    }
}

/// Reads Fluent's record of applied migrations.
enum AppliedMigrations {
    static func count(on db: any Database) async throws -> Int {
        guard let sql = db as? any SQLDatabase else { return 0 }
        do {
            let row = try await sql.raw("SELECT COUNT(*) AS n FROM _fluent_migrations").first()
            return try row?.decode(column: "n", as: Int.self) ?? 0
        } catch {
            return 0  // table not there yet: nothing applied
        }
    }
}
