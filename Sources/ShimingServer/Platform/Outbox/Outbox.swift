import Fluent
import Foundation
import Logging
import SQLKit

/// Writes messages into the outbox and delivers due ones.
///
/// Nothing is ever sent from a request handler: the handler enqueues inside its transaction,
/// and the worker delivers afterwards. A message whose change rolled back is never sent; a
/// message whose delivery fails is retried with exponential backoff and, after
/// `maxAttempts`, kept as `failed` for admins to see.
public struct Outbox: Sendable {
    /// Deliveries tried before a message is marked failed.
    public static let maxAttempts = 8
    /// Webhooks are retried at 1 min, 5 min, 1 h, 5 h and 18 h after the first attempt, then failed.
    public static let webhookRetries: [TimeInterval] = [60, 300, 3600, 5 * 3600, 18 * 3600]
    /// How long a claimed message stays reserved for the worker that claimed it.
    static let lease: TimeInterval = 120

    let cipher: FieldCipher
    /// Messages to a person are sealed under their account's own key (so that erasing it
    /// leaves no readable copy of their codes and notices, backups included).
    let keys: AccountKeys?

    /// Creates an outbox that seals payloads with the given cipher.
    public init(cipher: FieldCipher) {
        self.cipher = cipher
        keys = nil
    }

    init(cipher: FieldCipher, keys: AccountKeys) {
        self.cipher = cipher
        self.keys = keys
    }

    /// Adds a message to the outbox inside the caller's transaction.
    @discardableResult
    public func enqueue(_ message: OutgoingMessage, at now: Date, on db: any Database) async throws -> UUID {
        assert(db.inTransaction, "messages are enqueued in the transaction of the change that caused them")
        // A webhook's row is its delivery id (X-Shiming-Delivery): the log and a redelivery name it.
        let id = message.deliveryID ?? .timeOrdered(at: now)
        var cipher = cipher
        if let keys, let account = message.account, message.channel != .webhook { cipher = try await keys.sealing(cipher, for: account) }
        let payload = try cipher.seal(try Self.json(message), context: Self.payloadContext(id))
        // Every change that tells someone enqueues: one plain statement, no model, sent with the
        // transaction's next one (`runDeferred`).
        try await db.sql().runDeferred("""
            INSERT INTO outbox_messages (id, channel, template, payload, status, attempts, next_attempt_at, created_at, platform_id, account_id)
            VALUES (\(bind: id), \(bind: message.channel.rawValue), \(bind: message.template), \(bind: payload),
                    \(bind: OutboxStatus.pending.rawValue), 0, \(bind: now), \(bind: now), \(bind: message.platform), \(bind: message.account))
            """)
        return id
    }

    /// The delay before attempt `attempts + 1`: 30 s, 1 min, 2 min, … capped at one hour.
    public static func backoff(afterAttempts attempts: Int) -> TimeInterval {
        min(30 * pow(2, Double(max(attempts - 1, 0))), 3600)
    }

    /// Attempts before a message on `channel` is failed, and the delay after attempt `attempts`.
    static func schedule(_ channel: String, afterAttempts attempts: Int) -> TimeInterval? {
        if channel == OutgoingMessage.Channel.webhook.rawValue {
            return attempts <= webhookRetries.count ? webhookRetries[max(attempts - 1, 0)] : nil
        }
        return attempts < maxAttempts ? backoff(afterAttempts: attempts) : nil
    }

    /// A message as the JSON its sealed payload holds, read back by `DirectJSON`. Written by
    /// `SortedJSON` (a `JSONEncoder` set up for each message was a fiftieth of SQLite's writer
    /// under the submissions); older payloads, written by `JSONEncoder`, read the same.
    static func json(_ message: OutgoingMessage) throws -> Data {
        if let bytes = try? SortedJSON(escapesSlashes: true).encode(message) { return Data(bytes) }
        return try JSONEncoder().encode(message)
    }

    static func payloadContext(_ id: UUID) -> String {
        "outbox.payload." + id.lowercasedText
    }

    /// A stored payload opened and read: the message `enqueue` sealed under row `id`.
    static func message(_ payload: String, id: UUID, cipher: FieldCipher) throws -> OutgoingMessage {
        try DirectJSON.decode(OutgoingMessage.self, from: cipher.openData(payload, context: payloadContext(id)), iso8601Dates: false)
    }

    /// A claimed message: what delivering it needs.
    struct Claimed: Sendable {
        var id: UUID
        var channel: String
        var template: String
        var payload: String
        var attempts: Int
    }

    /// Claims up to `limit` due messages for this worker. The claim is one conditional
    /// `UPDATE … RETURNING`, which also reads them, so two workers (or two instances) never
    /// claim the same message; PostgreSQL additionally skips rows another worker has locked.
    func claimDue(limit: Int, now: Date, on db: any Database) async throws -> [Claimed] {
        guard let sql = db as? any SQLDatabase else { return [] }
        let rows = try await sql.raw(Self.claim(limit: limit, now: now, engine: SQLEngine.of(db))).all()
        return try rows.map {
            Claimed(id: try $0.value("id"), channel: try $0.value("channel"), template: try $0.value("template"),
                    payload: try $0.value("payload"), attempts: try $0.value("attempts"))
        }
    }

    /// `claimDue`'s statement. A message is due when it waits (`pending`, its time come) or its
    /// claim lapsed (`sending`, its lease over). Each kind is read apart, in the due index's
    /// order and at most `limit` of it, and the oldest `limit` of both are claimed: as one
    /// condition (`pending … OR sending …`) the database read and sorted every due message at
    /// each claim, so a backlog of tens of thousands (a gateway down for an hour) made every
    /// claim slow. On PostgreSQL each kind is locked as read (`FOR UPDATE SKIP LOCKED`, once, in
    /// a materialized `WITH` part, so that the planner cannot run the locking again for every
    /// due row), and the claim updates by id alone; a row locked but not among the oldest is let
    /// go when the statement ends. A row changed by another claim after this one's snapshot
    /// is read again as it locks it, and kept only if still due, so the update needs no second
    /// test of the condition: with it, on a table grown since its statistics (every benchmark
    /// run), the planner drove the update from every due row and matched each against the
    /// claimed ones (100 × 2,320 comparisons, 113 ms a claim under bench-http's submit row).
    static func claim(limit: Int, now: Date, engine: SQLEngine) -> SQLQueryString {
        let set: SQLQueryString = "SET status = 'sending', lease_until = \(bind: now.addingTimeInterval(Self.lease))"
        let returning: SQLQueryString = "RETURNING outbox_messages.id, channel, template, payload, attempts"
        let locking: SQLQueryString = engine == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let waiting: SQLQueryString = """
            SELECT id, next_attempt_at FROM outbox_messages WHERE status = 'pending' AND next_attempt_at <= \(bind: now) \
            ORDER BY next_attempt_at LIMIT \(bind: limit)\(locking)
            """
        let lapsed: SQLQueryString = """
            SELECT id, next_attempt_at FROM outbox_messages WHERE status = 'sending' AND lease_until < \(bind: now) \
            ORDER BY next_attempt_at LIMIT \(bind: limit)\(locking)
            """
        guard engine == .postgres else {
            let due: SQLQueryString = """
                (status = 'pending' AND next_attempt_at <= \(bind: now)) \
                OR (status = 'sending' AND lease_until < \(bind: now))
                """
            return """
                UPDATE outbox_messages \(set)
                WHERE id IN (SELECT id FROM (SELECT id, next_attempt_at FROM (\(waiting)) \
                UNION ALL SELECT id, next_attempt_at FROM (\(lapsed))) ORDER BY next_attempt_at LIMIT \(bind: limit))
                AND (\(due))
                \(returning)
                """
        }
        return """
            WITH waiting AS MATERIALIZED (\(waiting)), lapsed AS MATERIALIZED (\(lapsed)),
            claimed AS (SELECT id FROM (SELECT id, next_attempt_at FROM waiting UNION ALL SELECT id, next_attempt_at FROM lapsed \
            ORDER BY next_attempt_at LIMIT \(bind: limit)) oldest)
            UPDATE outbox_messages \(set) FROM claimed WHERE outbox_messages.id = claimed.id
            \(returning)
            """
    }

    /// Records how a claimed message's delivery went and releases the claim, in one statement.
    private func finish(_ message: Claimed, _ status: OutboxStatus, retryAt: Date? = nil, error: String? = nil, sentAt: Date? = nil,
                        on db: any Database) async throws {
        try await db.sql().raw("""
            UPDATE outbox_messages SET status = \(bind: status.rawValue), attempts = \(bind: message.attempts),
            next_attempt_at = COALESCE(\(bind: retryAt), next_attempt_at), lease_until = NULL, last_error = \(bind: error),
            sent_at = COALESCE(\(bind: sentAt), sent_at)
            WHERE id = \(bind: message.id)
            """).run()
    }

    /// Delivers every due message once; returns what happened. Safe to run concurrently.
    public func deliverDue(
        sink: any MessageSink,
        now: Date,
        on db: any Database,
        gate: WriteGate,
        logger: Logger,
        limit: Int = 100
    ) async throws -> DeliveryReport {
        var report = DeliveryReport()
        // Every write goes through the gate (on SQLite one writer at a time: a write outside it
        // would cost a gated transaction its snapshot); the sending itself does not.
        let claimed = try await gate.exclusive { [self] in try await claimDue(limit: limit, now: now, on: db) }
        for var record in claimed {
            let id = record.id
            let message: OutgoingMessage
            do {
                try await keys?.prepare([record.payload])
                message = try Self.message(record.payload, id: id, cipher: cipher)
            } catch {
                // Unreadable payloads cannot improve with retries; keep the row, flag it.
                let reason = "payload cannot be decrypted: \(error)"
                try await gate.exclusive { [self, record] in try await finish(record, .failed, error: reason, on: db) }
                report.failed += 1
                continue
            }
            record.attempts += 1
            var (status, retryAt, failure, sentAt): (OutboxStatus, Date?, String?, Date?) = (.sent, nil, nil, nil)
            do {
                try await sink.deliver(message, at: now)
                sentAt = now
                report.sent += 1
            } catch {
                failure = DeliveryErrorText.scrub(String(describing: error))
                if let delay = Self.schedule(record.channel, afterAttempts: record.attempts) {
                    status = .pending
                    retryAt = now.addingTimeInterval(delay)
                    report.retrying += 1
                    logger.warning("Outbox message \(id) (\(record.template)) not delivered, attempt \(record.attempts): \(error)")
                } else {
                    status = .failed
                    report.failed += 1
                    logger.error("Outbox message \(id) (\(record.template)) failed for good after \(record.attempts) attempts: \(error)")
                }
            }
            try await gate.exclusive { [self, record, status, retryAt, failure, sentAt] in
                try await finish(record, status, retryAt: retryAt, error: failure, sentAt: sentAt, on: db)
            }
        }
        return report
    }

    /// Counts of messages per status, for admins and `/metrics`.
    public static func statusCounts(on db: any Database) async throws -> [OutboxStatus: Int] {
        var counts: [OutboxStatus: Int] = [:]
        for status in [OutboxStatus.pending, .sending, .sent, .failed] {
            counts[status] = try await OutboxMessageRecord.query(on: db).filter(\.$status == status.rawValue).count()
        }
        return counts
    }
}

/// What one delivery round did.
public struct DeliveryReport: Sendable, Equatable {
    public var sent = 0
    public var retrying = 0
    public var failed = 0
}
