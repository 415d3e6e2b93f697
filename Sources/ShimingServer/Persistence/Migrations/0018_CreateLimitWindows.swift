import Fluent
import Foundation

/// Counters that limit something (code sends per destination and per address): one row per
/// key, changed only by one conditional statement (`LimitStore.take`).
struct CreateLimitWindows: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("limit_windows")
            .field("key", .string, .required)
            .field("window_start", .datetime, .required)
            .field("count", .int, .required)
            .field("last_at", .datetime, .required)
            .unique(on: "key")
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema("limit_windows").delete()
    }
}
