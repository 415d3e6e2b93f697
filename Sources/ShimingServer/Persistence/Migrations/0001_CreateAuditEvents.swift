import Fluent
import Foundation

/// Creates the audit table and, on both engines, triggers that refuse UPDATE and DELETE, so
/// the log is append-only even for code that tries otherwise.
struct CreateAuditEvents: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AuditEventRecord.schema)
            .id()
            .field("seq", .int64, .required)
            .field("actor", .string, .required)
            .field("action", .string, .required)
            .field("subject", .string)
            .field("occurred_at", .datetime, .required)
            .field("ip", .string)
            .field("details", .string, .required)
            .field("prev_hash", .string, .required)
            .field("hash", .string, .required)
            .unique(on: "seq")
            .create()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX audit_events_subject ON audit_events (subject)"])
        try await SQLDialectSwitch.run(on: database, sqlite: [
            """
            CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
            """,
            """
            CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
            BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
            """,
        ], postgres: [
            """
            CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$
            """,
            """
            CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
            FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
            """,
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AuditEventRecord.schema).delete()
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: [
            "DROP FUNCTION IF EXISTS audit_events_append_only()",
        ])
    }
}
