import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// The outbox as staff see it (the worker claims and delivers through `Outbox`).
    var outbox: OutboxStore { OutboxStore(db: database, cipher: cipher, keys: keys) }
}

/// One outbox message as staff see it: where it stands, and the message opened (nil when it
/// cannot be opened).
struct OutboxEntry: Sendable {
    var id: UUID
    var channel: String
    var template: String
    var status: OutboxStatus
    var attempts: Int
    var lastError: String?
    var createdAt: Date
    var nextAttemptAt: Date
    var sentAt: Date?
    var message: OutgoingMessage?
}

struct OutboxStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let keys: AccountKeys

    /// Entries opened, the keys of the people they went to loaded first.
    private func values(_ records: [OutboxMessageRecord]) async throws -> [OutboxEntry] {
        try await keys.prepare(records.map(\.payload))
        return try records.map(value)
    }

    func find(_ id: UUID) async throws -> OutboxEntry? {
        guard let record = try await OutboxMessageRecord.find(id, on: db) else { return nil }
        return try await values([record]).first
    }

    /// Messages in one state (any when nil), newest first.
    func list(status: OutboxStatus?, limit: Int) async throws -> [OutboxEntry] {
        var query = OutboxMessageRecord.query(on: db).sort(\.$createdAt, .descending)
        if let status { query = query.filter(\.$status == status.rawValue) }
        return try await values(query.limit(limit).all())
    }

    func count(in status: OutboxStatus) async throws -> Int {
        try await OutboxMessageRecord.query(on: db).filter(\.$status == status.rawValue).count()
    }

    /// Puts a failed message back in the queue, due now, in one conditional statement; false
    /// when it is not (or no longer) failed.
    func requeueFailed(_ id: UUID, at now: Date) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE outbox_messages SET status = \(bind: OutboxStatus.pending.rawValue), attempts = 0, next_attempt_at = \(bind: now)
            WHERE id = \(bind: id) AND status = \(bind: OutboxStatus.failed.rawValue)
            RETURNING id
            """).first() != nil
    }

    func value(_ record: OutboxMessageRecord) throws -> OutboxEntry {
        let id = try record.requireID()
        let message = try? Outbox.message(record.payload, id: id, cipher: cipher)
        return OutboxEntry(
            id: id, channel: record.channel, template: record.template, status: OutboxStatus(rawValue: record.status) ?? .pending,
            attempts: record.attempts, lastError: record.lastError, createdAt: record.createdAt, nextAttemptAt: record.nextAttemptAt,
            sentAt: record.sentAt, message: message
        )
    }
}

extension OutboxStore {
    /// The messages sent about one account (codes, notices), oldest first.
    func messages(about accountID: UUID) async throws -> [OutboxEntry] {
        try await values(OutboxMessageRecord.query(on: db).filter(\.$accountID == accountID).sort(\.$createdAt, .ascending).all())
    }

    /// A platform's webhook deliveries, newest first.
    func list(platform: UUID, limit: Int) async throws -> [OutboxEntry] {
        try await values(OutboxMessageRecord.query(on: db).filter(\.$platformID == platform).sort(\.$createdAt, .descending)
            .limit(limit).all())
    }

    /// Puts one of the platform's deliveries back in the queue, due now (sent, failed or waiting
    /// for a retry; one being sent is left alone), in one conditional statement.
    func requeue(_ id: UUID, platform: UUID, at now: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE outbox_messages SET status = \(bind: OutboxStatus.pending.rawValue), attempts = 0, next_attempt_at = \(bind: now)
            WHERE id = \(bind: id) AND platform_id = \(bind: platform) AND status IN ('pending', 'sent', 'failed')
            RETURNING id
            """).first() != nil
    }
}
