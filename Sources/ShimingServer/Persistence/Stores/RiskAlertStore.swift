import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Risk alerts (P5).
    var alerts: RiskAlertStore { RiskAlertStore(db: database) }
}

/// Risk alerts as rows of `risk_alerts` ⇄ `RiskAlert` values.
struct RiskAlertStore: Sendable {
    let db: any Database

    func find(_ id: UUID) async throws -> RiskAlert? {
        try await RiskAlertRecord.find(id, on: db).map(Self.value)
    }

    /// The alert of this kind about this subject that is still being dealt with, if any.
    func active(kind: String, subject: String) async throws -> RiskAlert? {
        try await RiskAlertRecord.query(on: db).filter(\.$kind == kind).filter(\.$subject == subject)
            .filter(\.$state ~~ RiskAlertState.active.map(\.rawValue)).first().map(Self.value)
    }

    /// Counts one more occurrence on an alert in one conditional statement (two requests at once
    /// both count) and answers the new count; nil when the alert is no longer active.
    func countRepeat(_ id: UUID, at now: Date) async throws -> Int? {
        let sql = try db.sql()
        let active = RiskAlertState.active.map(\.rawValue)
        return try await sql.raw("""
            UPDATE risk_alerts SET count = count + 1, last_seen_at = \(bind: now)
            WHERE id = \(bind: id) AND state IN (\(binds: active))
            RETURNING count
            """).first()?.decode(column: "count", as: Int.self)
    }

    func insert(_ alert: RiskAlert) async throws {
        let record = RiskAlertRecord()
        record.id = alert.id
        try Self.fill(record, from: alert)
        try await record.create(on: db)
    }

    /// Writes every field of an alert that exists.
    func update(_ alert: RiskAlert) async throws {
        guard let record = try await RiskAlertRecord.find(alert.id, on: db) else { throw CommonErrors.notFound }
        try Self.fill(record, from: alert)
        try await record.save(on: db)
    }

    /// Alerts in the given states (all when nil), the most recently seen first.
    func list(states: [RiskAlertState]?, limit: Int) async throws -> [RiskAlert] {
        var query = RiskAlertRecord.query(on: db)
        if let states { query = query.filter(\.$state ~~ states.map(\.rawValue)) }
        return try await query.sort(\.$lastSeenAt, .descending).limit(limit).all().map(Self.value)
    }

    func count(in state: RiskAlertState) async throws -> Int {
        try await RiskAlertRecord.query(on: db).filter(\.$state == state.rawValue).count()
    }

    private static func fill(_ record: RiskAlertRecord, from alert: RiskAlert) throws {
        record.kind = alert.kind
        record.subject = alert.subject
        record.program = alert.program
        record.details = try StoredJSON.text(alert.details)
        record.noteSealed = alert.noteSealed
        record.raisedBy = alert.raisedBy
        record.state = alert.state.rawValue
        record.count = alert.count
        record.createdAt = alert.createdAt
        record.lastSeenAt = alert.lastSeenAt
        record.acknowledgedBy = alert.acknowledgedBy
        record.acknowledgedAt = alert.acknowledgedAt
        record.resolvedBy = alert.resolvedBy
        record.resolvedAt = alert.resolvedAt
        record.resolutionSealed = alert.resolutionSealed
    }

    private static func value(_ record: RiskAlertRecord) throws -> RiskAlert {
        RiskAlert(
            id: try record.requireID(), kind: record.kind, subject: record.subject, program: record.program,
            details: StoredJSON.dictionary(record.details), noteSealed: record.noteSealed, raisedBy: record.raisedBy,
            state: RiskAlertState(rawValue: record.state) ?? .open, count: record.count, createdAt: record.createdAt,
            lastSeenAt: record.lastSeenAt, acknowledgedBy: record.acknowledgedBy, acknowledgedAt: record.acknowledgedAt,
            resolvedBy: record.resolvedBy, resolvedAt: record.resolvedAt, resolutionSealed: record.resolutionSealed
        )
    }
}
