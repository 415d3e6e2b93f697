import Fluent
import Foundation

/// Data exports prepared in the background for large accounts: requested, then built by one
/// instance (a lease), offered for 24 hours, then removed.
struct CreateDataExports: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("data_exports")
            .id()
            .field("account_id", .uuid, .required)
            .field("state", .string, .required)
            .field("lang", .string, .required)
            .field("requested_at", .datetime, .required)
            .field("lease_until", .datetime)
            .field("ready_at", .datetime)
            .field("expires_at", .datetime)
            .field("size", .int64)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX data_exports_account ON data_exports (account_id, requested_at)",
            "CREATE INDEX data_exports_state ON data_exports (state)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("data_exports").delete()
    }
}
