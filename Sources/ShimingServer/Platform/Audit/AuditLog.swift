import Crypto
import Fluent
import Foundation
import SQLKit

/// Who did something, as recorded in the audit log.
public enum AuditActor: Sendable, Equatable {
    /// Shiming itself (workers, schedulers, start-up).
    case system
    /// Someone not signed in.
    case anonymous
    /// An applicant's account.
    case account(UUID)
    /// A staff member's account.
    case staff(UUID)
    /// A relying platform (the key it called with is in the details).
    case platform(UUID)
    /// An operator on the command line.
    case cli(String)

    /// The stored form, e.g. `account:4F…`.
    public var stored: String {
        switch self {
        case .system: "system"
        case .anonymous: "anonymous"
        case .account(let id): "account:\(id.lowercasedText)"
        case .staff(let id): "staff:\(id.lowercasedText)"
        case .platform(let id): "platform:\(id.lowercasedText)"
        case .cli(let user): "cli:\(user)"
        }
    }
}

/// The audit chain's last event: its sequence number and hash (0 and the genesis hash before
/// the first event).
typealias AuditChainEnd = (seq: Int64, hash: String)

/// A recorded event, as read back from the log.
public struct AuditEvent: Sendable, Equatable {
    public var id: UUID
    public var seq: Int64
    public var actor: String
    public var action: String
    public var subject: String?
    public var occurredAt: Date
    public var ip: String?
    /// JSON object text with sorted keys; never holds unmasked personal data.
    public var details: String
    public var prevHash: String
    public var hash: String

    /// The hash this event must carry given its fields and its predecessor's hash: HMAC-SHA256
    /// under the deployment's audit key over the previous hash and an unambiguous JSON encoding
    /// of the fields, written `k1:<hex>` — without the key nobody can recompute a chain that
    /// passes. Events written before the chain was keyed carry a plain SHA-256 (no prefix).
    public func expectedHash(key: MACKey) -> String {
        hash.hasPrefix(Self.keyedPrefix) || hash.isEmpty
            ? AuditEvent.keyedHash(previous: prevHash, fields: canonicalFields, key: key)
            : AuditEvent.chainHash(previous: prevHash, fields: canonicalFields)
    }

    /// Whether the event is chained with the key.
    public var isKeyed: Bool { hash.hasPrefix(Self.keyedPrefix) }

    static let keyedPrefix = "k1:"

    static func keyedHash(previous: String, fields: [String], key: MACKey) -> String {
        keyedHash(previous: previous, json: AuditJSON.array(fields), key: key)
    }

    /// The same, with the fields already encoded (`AuditJSON.array`).
    static func keyedHash(previous: String, json fields: [UInt8], key: MACKey) -> String {
        var mac = key.authenticator()
        mac.update(data: Array(previous.utf8))
        mac.update(data: [0x0A])
        mac.update(data: fields)
        // The code's bytes where they are: through `Data` each was a call of its iterator.
        return keyedPrefix + mac.finalize().withUnsafeBytes { Hex.encode($0) }
    }

    var canonicalFields: [String] {
        [
            String(seq), id.lowercasedText, actor, action, subject ?? "",
            String(AuditEvent.milliseconds(occurredAt)), ip ?? "", details,
        ]
    }

    static let genesisHash = String(repeating: "0", count: 64)

    static func chainHash(previous: String, fields: [String]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: AuditJSON.array(fields))
        return Hex.encode(hasher.finalize())
    }

    /// Whole milliseconds since 1970: the precision both engines keep exactly.
    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

extension AuditEvent {
    /// An event's content before its place in the chain (its sequence number, the previous
    /// hash, its hash), with the hashed fields after the sequence number already encoded: made
    /// where it happened, so that whoever chains it does little more than the hash (the
    /// verification queries' writer, `GrantService.recordQueries`).
    struct Unchained: Sendable {
        let id: UUID
        let actor: String
        let action: String
        let subject: String?
        let occurredAt: Date
        let ip: String?
        let details: String
        /// `canonicalFields` after the sequence number as `AuditJSON.array` writes them, from
        /// the comma before the second: `,"<id>",…]`.
        private let fieldsAfterSeq: [UInt8]

        init(_ action: String, actor: AuditActor, subject: String?, ip: String?, details: [String: String], at now: Date) {
            let occurredAt = Date(timeIntervalSince1970: Double(AuditEvent.milliseconds(now)) / 1000)
            (self.id, self.actor, self.action, self.subject) = (.timeOrdered(at: occurredAt), actor.stored, action, subject)
            (self.occurredAt, self.ip, self.details) = (occurredAt, ip, AuditJSON.object(details))
            var fields = AuditJSON.array([
                id.lowercasedText, self.actor, action, subject ?? "", String(AuditEvent.milliseconds(occurredAt)), ip ?? "", self.details,
            ])
            fields[0] = UInt8(ascii: ",")
            fieldsAfterSeq = fields
        }

        /// The event in its place after `last` (nil: the first of the chain), hashed under the key.
        func chained(after last: AuditChainEnd?, key: MACKey) -> AuditEvent {
            let seq = (last?.seq ?? 0) + 1
            let previous = last?.hash ?? AuditEvent.genesisHash
            // `AuditJSON.array(canonicalFields)`: the sequence number's digits need no escape.
            let fields = Array("[\"\(seq)\"".utf8) + fieldsAfterSeq
            return AuditEvent(id: id, seq: seq, actor: actor, action: action, subject: subject, occurredAt: occurredAt, ip: ip, details: details,
                              prevHash: previous, hash: AuditEvent.keyedHash(previous: previous, json: fields, key: key))
        }
    }
}

/// Appends to and reads the audit log. Every state change calls `record` inside the same
/// transaction as the change, so that either both are stored or neither.
public enum AuditLog {
    /// Records an event that accompanies no other change (a staff view, a refused decision),
    /// in a transaction of its own, admitted through the write gate.
    static func recordAlone(
        _ action: String, actor: AuditActor, subject: String, ip: String?, details: [String: String] = [:], at now: Date,
        key: MACKey, gate: WriteGate, on db: any Database
    ) async throws {
        try await gate.transaction(on: db) { tx in
            try await record(action, actor: actor, subject: subject, ip: ip, details: details, at: now, key: key, on: tx)
        }
    }

    /// Appends one event, chained to the current last event.
    ///
    /// On PostgreSQL a transaction-scoped advisory lock orders concurrent appenders; on SQLite
    /// the write gate already admits one writer. The unique `seq` is the last line of defence:
    /// a fork in the chain cannot be stored. Inside a write group the event is chained at once
    /// and stored with the group's other events in one statement before the commit
    /// (`AuditChainTail.flush`); elsewhere it is inserted here.
    @discardableResult
    public static func record(
        _ action: String,
        actor: AuditActor,
        subject: String? = nil,
        ip: String? = nil,
        details: [String: String] = [:],
        at now: Date,
        key: MACKey,
        on db: any Database
    ) async throws -> AuditEvent {
        assert(db.inTransaction, "audit events are written in the transaction of the change they record")
        let sql = try db.sql()
        let tail = AuditChainTail.current
        // Plain SQL: every state change passes here. A write group knows the chain's end from
        // when it took the lock (PostgreSQL; one that left it to its transaction's first statement
        // takes it here if no statement has) or from its first event on.
        try await tail?.lock(on: sql)
        let last: AuditChainEnd?
        if let known = tail?.last {
            last = known
        } else if SQLEngine.of(db) == .postgres {
            last = try await lockChain(on: sql)
        } else if let row = try await sql.raw("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").first() {
            last = (try row.value("seq"), try row.value("hash"))
        } else {
            last = nil
        }
        let event = AuditEvent.Unchained(action, actor: actor, subject: subject, ip: ip, details: details, at: now).chained(after: last, key: key)
        if let tail {
            tail.append(event)
        } else {
            try await insert([event], on: sql)
        }
        return event
    }

    /// Stores events in one statement per 500. On PostgreSQL the rows go as one array per
    /// column (`unnest`): one statement text for any number of events, kept prepared
    /// (`PreparedPostgresDatabase`), where a `VALUES` list of each length was a statement of its
    /// own, and past six events (64 values) parsed and planned at every group's commit.
    static func insert(_ events: [AuditEvent], on sql: any SQLDatabase) async throws {
        for start in stride(from: 0, to: events.count, by: 500) {
            let chunk = events[start..<min(start + 500, events.count)]
            if SQLEngine.of(sql: sql) == .postgres {
                try await sql.raw("""
                    INSERT INTO audit_events (id, seq, actor, action, subject, occurred_at, ip, details, prev_hash, hash)
                    SELECT * FROM unnest(\(bind: chunk.map(\.id)), \(bind: chunk.map(\.seq)), \(bind: chunk.map(\.actor)), \(bind: chunk.map(\.action)),
                      \(bind: NullableTexts(chunk.map(\.subject))), \(bind: chunk.map(\.occurredAt)), \(bind: NullableTexts(chunk.map(\.ip))),
                      \(bind: chunk.map(\.details)), \(bind: chunk.map(\.prevHash)), \(bind: chunk.map(\.hash)))
                    """).run()
                continue
            }
            // SQLite: the text written at once (ten values a row), not serialized value by value.
            let binds = chunk.flatMap { event -> [any Encodable & Sendable] in
                [event.id, event.seq, event.actor, event.action, event.subject, event.occurredAt, event.ip, event.details, event.prevHash, event.hash]
            }
            let rows = repeatElement("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            try await sql.text(SQLText(sql: "INSERT INTO audit_events (id, seq, actor, action, subject, occurred_at, ip, details, prev_hash, hash) VALUES "
                + rows, binds: binds)).run()
        }
    }

    /// Events about one subject, oldest first.
    public static func events(subject: String, on db: any Database) async throws -> [AuditEvent] {
        try await AuditEventRecord.query(on: db)
            .filter(\.$subject == subject)
            .sort(\.$seq, .ascending)
            .all()
            .map(\.event)
    }

    /// The most recent events, newest first.
    public static func latest(_ limit: Int, on db: any Database) async throws -> [AuditEvent] {
        try await AuditEventRecord.query(on: db).sort(\.$seq, .descending).limit(limit).all().map(\.event)
    }

    /// Walks the whole chain in order and reports the first event whose hash, predecessor
    /// link or sequence number is wrong.
    public static func verify(key: SymmetricKey, on db: any Database, pageSize: Int = 1000) async throws -> AuditVerification {
        let key = MACKey(key)
        var expectedSeq: Int64 = 1
        var previousHash = AuditEvent.genesisHash
        var keyedSeen = false
        while true {
            let page = try await AuditEventRecord.query(on: db)
                .filter(\.$seq >= expectedSeq)
                .sort(\.$seq, .ascending)
                .limit(pageSize)
                .all()
                .map(\.event)
            if page.isEmpty { return .intact(events: expectedSeq - 1, lastHash: previousHash) }
            for event in page {
                if event.seq != expectedSeq {
                    return .broken(seq: expectedSeq, reason: "event \(expectedSeq) is missing")
                }
                if event.prevHash != previousHash {
                    return .broken(seq: event.seq, reason: "does not link to the previous event's hash")
                }
                if keyedSeen, !event.isKeyed {
                    return .broken(seq: event.seq, reason: "an unkeyed event after keyed ones (the chain was recomputed)")
                }
                if event.hash != event.expectedHash(key: key) {
                    return .broken(seq: event.seq, reason: "content does not match its hash")
                }
                keyedSeen = keyedSeen || event.isKeyed
                previousHash = event.hash
                expectedSeq += 1
            }
        }
    }

    /// Takes the audit chain's lock on PostgreSQL until the transaction ends, and answers the
    /// chain's last event as it stands once the lock is held (nil: the chain is empty).
    ///
    /// One round trip (`audit_chain_end()`, migration `LockAuditChainInOneStatement`): the
    /// function takes the lock, then reads the end in a statement of its own, with a snapshot
    /// taken after the lock. A single statement that locked and read would read with the
    /// snapshot of its start, and could miss an event another instance committed while it
    /// waited for the lock.
    static func lockChain(on sql: any SQLDatabase) async throws -> AuditChainEnd? {
        guard let row = try await sql.raw("SELECT seq, hash FROM audit_chain_end()").first() else { return nil }
        return (try row.value("seq"), try row.value("hash"))
    }

    /// An arbitrary constant naming Shiming's audit-chain lock among PostgreSQL advisory locks.
    static let advisoryLockKey: Int64 = 0x5348_494D_4155_4431
}

/// The result of checking the audit chain.
public enum AuditVerification: Sendable, Equatable {
    /// Every event is in place; `lastHash` can be written down to detect later truncation.
    case intact(events: Int64, lastHash: String)
    /// The chain breaks at this sequence number.
    case broken(seq: Int64, reason: String)
}
