import Fluent
import Foundation
import SQLKit
import Testing
import Vapor
@testable import ShimingServer

@Suite("Restarting on the same data")
struct RestartTests {
    @Test("a second start keeps all data and runs no migration again")
    func restartKeepsData() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)").path
        var database: ShimingConfiguration.Database?
        let firstCount = try await withShiming(dataDirectory: directory) { shiming in
            database = shiming.configuration.database
            let now = shiming.clock.now()
            try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { tx in
                try await AuditLog.record("deployment.started", actor: .system, at: now, key: shiming.auditKey, on: tx)
            }
            return try await AppliedMigrations.count(on: shiming.db)
        }
        // On PostgreSQL the key store's table (`account_keys`) is migrated with the rest.
        #expect(firstCount == ShimingMigrations.all.count + (TestEngine.postgresURL == nil ? 0 : 1))

        // Start again on the very same database, as `shiming serve` would after a restart.
        let app = try await Application.make(.testing)
        do {
            let configuration = testConfiguration(dataDirectory: directory, database: try #require(database))
            try await configure(app, configuration: configuration)
            try await app.autoMigrate()
            #expect(try await AppliedMigrations.count(on: app.db) == firstCount)
            let events = try await AuditLog.latest(10, on: app.db)
            #expect(events.map(\.action) == ["deployment.started"])
            guard case .intact(1, _) = try await AuditLog.verify(key: app.shiming.keyRing.key(for: .auditChain), on: app.db) else {
                Issue.record("audit chain not intact after restart")
                return
            }
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}
