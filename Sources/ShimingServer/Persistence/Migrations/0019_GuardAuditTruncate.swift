import Fluent
import Foundation

/// PostgreSQL's `TRUNCATE` skips row triggers: a statement trigger refuses it too. (SQLite has
/// no `TRUNCATE`; its `DELETE` is refused by the row trigger.)
struct GuardAuditTruncate: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: [
            """
            CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
            FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
            """,
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: ["DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events"])
    }
}
