import Fluent
import Foundation

/// One row of the append-only, hash-chained audit log. Stays inside the persistence layer;
/// the rest of the code sees `AuditEvent`.
final class AuditEventRecord: Model, @unchecked Sendable {
    static let schema = "audit_events"

    @ID(key: .id) var id: UUID?
    @Field(key: "seq") var seq: Int64
    @Field(key: "actor") var actor: String
    @Field(key: "action") var action: String
    @OptionalField(key: "subject") var subject: String?
    @Field(key: "occurred_at") var occurredAt: Date
    @OptionalField(key: "ip") var ip: String?
    @Field(key: "details") var details: String
    @Field(key: "prev_hash") var prevHash: String
    @Field(key: "hash") var hash: String

    init() {}

    init(event: AuditEvent) {
        id = event.id
        seq = event.seq
        actor = event.actor
        action = event.action
        subject = event.subject
        occurredAt = event.occurredAt
        ip = event.ip
        details = event.details
        prevHash = event.prevHash
        hash = event.hash
    }

    var event: AuditEvent {
        AuditEvent(
            id: id ?? UUID(), seq: seq, actor: actor, action: action, subject: subject,
            occurredAt: occurredAt, ip: ip, details: details, prevHash: prevHash, hash: hash
        )
    }
}

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
