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
    private func finish(_ outcome: Delivered, on db: any Database) async throws {
        try await db.sql().raw("""
            UPDATE outbox_messages SET status = \(bind: outcome.status.rawValue), attempts = \(bind: outcome.record.attempts),
            next_attempt_at = COALESCE(\(bind: outcome.retryAt), next_attempt_at), lease_until = NULL, last_error = \(bind: outcome.error),
            sent_at = COALESCE(\(bind: outcome.sentAt), sent_at)
            WHERE id = \(bind: outcome.record.id)
            """).run()
    }

    /// PostgreSQL: `finish` for a run's outcomes in one statement, atomic without a transaction
    /// around it: one round trip a run, where `BEGIN`, an `UPDATE` for each message and `COMMIT`
    /// took ten for a run of eight. Each kind of outcome is a part of its own, with its values in
    /// arrays of their own type. (An outcome without the values of its kind, which `deliver`
    /// does not make, is recorded message by message in a transaction instead.)
    private func finish(_ outcomes: [Delivered], on db: any Database) async throws {
        let sent = outcomes.filter { $0.status == .sent }.compactMap { outcome in outcome.sentAt.map { (outcome.record, $0) } }
        let retrying = outcomes.filter { $0.status == .pending }.compactMap { outcome in
            outcome.retryAt.flatMap { at in outcome.error.map { (outcome.record, at, $0) } }
        }
        let failed = outcomes.filter { $0.status == .failed }.compactMap { outcome in outcome.error.map { (outcome.record, $0) } }
        guard sent.count + retrying.count + failed.count == outcomes.count else {
            try await db.transaction { tx in for outcome in outcomes { try await finish(outcome, on: tx) } }
            return
        }
        try await db.sql().raw("""
            WITH sent AS (
              UPDATE outbox_messages AS m SET status = 'sent', attempts = o.attempts, lease_until = NULL, last_error = NULL, sent_at = o.sent_at
              FROM unnest((SELECT \(bind: sent.map(\.0.id))), (SELECT \(bind: sent.map(\.0.attempts))), (SELECT \(bind: sent.map(\.1))))
                AS o (id, attempts, sent_at)
              WHERE m.id = o.id
            ), retrying AS (
              UPDATE outbox_messages AS m SET status = 'pending', attempts = o.attempts, next_attempt_at = o.retry_at, lease_until = NULL,
                last_error = o.error
              FROM unnest((SELECT \(bind: retrying.map(\.0.id))), (SELECT \(bind: retrying.map(\.0.attempts))), (SELECT \(bind: retrying.map(\.1))),
                          (SELECT \(bind: retrying.map(\.2)))) AS o (id, attempts, retry_at, error)
              WHERE m.id = o.id
            )
            UPDATE outbox_messages AS m SET status = 'failed', attempts = o.attempts, lease_until = NULL, last_error = o.error
            FROM unnest((SELECT \(bind: failed.map(\.0.id))), (SELECT \(bind: failed.map(\.0.attempts))), (SELECT \(bind: failed.map(\.1))))
              AS o (id, attempts, error)
            WHERE m.id = o.id
            """).run()
    }

    /// Messages a round claims at most.
    public static let roundSize = 100
    /// Messages delivered at once within a round: an SMTP conversation, a gateway's answer or a
    /// webhook's receiver is waited for, and one at a time a round of a hundred waited for each
    /// in turn (with a two-second pause between rounds, at most fifty a second).
    static let concurrentDeliveries = 8

    /// Delivers every due message once, round after round while rounds come back full (a
    /// backlog is worked off without pausing); returns what happened. Safe to run concurrently.
    public func deliverAllDue(sink: any MessageSink, now: @Sendable () -> Date, on db: any Database, gate: WriteGate,
                              logger: Logger) async throws -> DeliveryReport {
        var total = DeliveryReport()
        while !Task.isCancelled {
            let round = try await deliverDue(sink: sink, now: now(), on: db, gate: gate, logger: logger)
            total.add(round)
            if round.handled < Self.roundSize { break }
        }
        return total
    }

    /// Delivers one round of due messages (at most `limit`); returns what happened. Safe to run
    /// concurrently. The claimed messages go out in runs of up to `concurrentDeliveries` at
    /// once, no two of a run to the same recipient (one person's or platform's messages arrive
    /// in their order), and each run's outcomes are recorded together, in one transaction
    /// admitted through the write gate. A process that stops between a delivery and its record
    /// sends that message again once its claim lapses, as it always could for the one message in hand.
    public func deliverDue(
        sink: any MessageSink,
        now: Date,
        on db: any Database,
        gate: WriteGate,
        logger: Logger,
        limit: Int = Outbox.roundSize
    ) async throws -> DeliveryReport {
        var report = DeliveryReport()
        // Every write goes through the gate (on SQLite one writer at a time: a write outside it
        // would cost a gated transaction its snapshot); the sending itself does not.
        let claimed = try await gate.exclusive { [self] in try await claimDue(limit: limit, now: now, on: db) }
        // The round's account keys in one look-up; each message's own below then finds its key
        // loaded (where this one fails, they look theirs up alone, as before).
        try? await keys?.prepare(claimed.map(\.payload))
        var opened: [(Claimed, Result<OutgoingMessage, any Error>)] = []
        for record in claimed {
            do {
                try await keys?.prepare([record.payload])
                opened.append((record, .success(try Self.message(record.payload, id: record.id, cipher: cipher))))
            } catch {
                opened.append((record, .failure(error)))
            }
        }
        for run in Self.runs(of: opened, recipient: { "\($0.channel.rawValue):\($0.to)" }) {
            let outcomes = await withTaskGroup(of: Delivered.self, returning: [Delivered].self) { group in
                for (record, message) in run {
                    group.addTask { await Self.deliver(record, message, sink: sink, now: now, logger: logger) }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            for outcome in outcomes { report.count(outcome.status) }
            // On PostgreSQL one transaction of its own beside the writer, not a turn in the gate's
            // groups: a group waits for the writer's queue, and the next run would wait for it.
            // On SQLite a turn in the groups, sharing their commit: a transaction of its own held
            // the one writer for a commit of its own per run (the submissions beside it fell from
            // 2,085 to 1,559 a second).
            let record: @Sendable (any Database) async throws -> Void = { [self] tx in
                for outcome in outcomes { try await finish(outcome, on: tx) }
            }
            if SQLEngine.of(db) == .sqlite {
                try await gate.transaction(on: db, repeatable: true, record)
            } else {
                try await gate.exclusive { [self] in try await finish(outcomes, on: db) }
            }
        }
        return report
    }

    /// The opened messages in runs to deliver at once: in their order, at most
    /// `concurrentDeliveries` each, a run ending before a second message to one of its
    /// recipients (an unreadable payload joins any run).
    static func runs<Item>(of opened: [(Claimed, Result<Item, any Error>)],
                           recipient: (Item) -> String) -> [[(Claimed, Result<Item, any Error>)]] {
        var runs: [[(Claimed, Result<Item, any Error>)]] = []
        var current: [(Claimed, Result<Item, any Error>)] = []
        var recipients: Set<String> = []
        for item in opened {
            let to = (try? item.1.get()).map(recipient)
            if current.count == concurrentDeliveries || to.map(recipients.contains) == true {
                runs.append(current)
                (current, recipients) = ([], [])
            }
            current.append(item)
            if let to { recipients.insert(to) }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// How one claimed message's delivery went.
    struct Delivered: Sendable {
        var record: Claimed
        var status: OutboxStatus
        var retryAt: Date?
        var error: String?
        var sentAt: Date?
    }

    /// Delivers one opened message (or fails one whose payload cannot be opened: retries cannot
    /// mend it; the row is kept and flagged).
    private static func deliver(_ claimed: Claimed, _ opened: Result<OutgoingMessage, any Error>, sink: any MessageSink, now: Date,
                                logger: Logger) async -> Delivered {
        var record = claimed
        let message: OutgoingMessage
        switch opened {
        case .success(let value): message = value
        case .failure(let error): return Delivered(record: record, status: .failed, error: "payload cannot be decrypted: \(error)")
        }
        record.attempts += 1
        do {
            try await sink.deliver(message, at: now)
            return Delivered(record: record, status: .sent, sentAt: now)
        } catch {
            let failure = DeliveryErrorText.scrub(String(describing: error))
            if let delay = schedule(record.channel, afterAttempts: record.attempts) {
                logger.warning("Outbox message \(record.id) (\(record.template)) not delivered, attempt \(record.attempts): \(error)")
                return Delivered(record: record, status: .pending, retryAt: now.addingTimeInterval(delay), error: failure)
            }
            logger.error("Outbox message \(record.id) (\(record.template)) failed for good after \(record.attempts) attempts: \(error)")
            return Delivered(record: record, status: .failed, error: failure)
        }
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

    /// The messages the round handled (claimed), however it went.
    public var handled: Int { sent + retrying + failed }

    mutating func count(_ status: OutboxStatus) {
        switch status {
        case .sent: sent += 1
        case .pending: retrying += 1
        case .failed: failed += 1
        case .sending: break
        }
    }

    mutating func add(_ other: DeliveryReport) {
        sent += other.sent
        retrying += other.retrying
        failed += other.failed
    }
}
