import Fluent
import Foundation
import Vapor

/// Converts the school rolls stored before the compact form, once, right after the migrations
/// (it needs the keys, which migrations do not have). Every command that migrates runs it.
enum RosterLegacy {
    static func convert(_ app: Application) async throws {
        let store = Store(app.db, context: app.shiming)
        var cursor: UUID?
        var (converted, unreadable) = (0, 0)
        repeat {
            let step = try await store.roster.convertLegacy(after: cursor, limit: 2000, random: app.shiming.services.random)
            converted += step.converted
            unreadable += step.unreadable
            cursor = step.cursor
        } while cursor != nil
        if converted > 0 { app.logger.notice("Converted \(converted) school roll lines to the compact form") }
        if unreadable > 0 { app.logger.warning("\(unreadable) school roll lines did not open and stay in roster_entries") }
    }
}

extension Application {
    /// Applies pending migrations, then the conversions that need the keys.
    func shimingMigrate() async throws {
        try await autoMigrate()
        try await RosterLegacy.convert(self)
    }
}
