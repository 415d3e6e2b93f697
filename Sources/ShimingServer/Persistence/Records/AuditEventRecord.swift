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
