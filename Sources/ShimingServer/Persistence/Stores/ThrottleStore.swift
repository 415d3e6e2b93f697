import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Sign-in throttles, by key (`account:…`, `ip:…`).
    var throttles: ThrottleStore { ThrottleStore(db: database) }
}

/// Rows of `sign_in_throttles` ⇄ `SignInThrottle.State`.
struct ThrottleStore: Sendable {
    let db: any Database

    /// Removes states untouched since `cutoff` that hold no running lock (a state remembers
    /// at most a day of failures and locks, so such a row says what no row says). One statement.
    func prune(before cutoff: Date, now: Date) async throws -> Int {
        try await db.sql().raw("""
            DELETE FROM sign_in_throttles
            WHERE updated_at < \(bind: cutoff) AND (locked_until IS NULL OR locked_until < \(bind: now)) RETURNING key
            """).all().count
    }

    /// The state under `key`; a fresh one when there is none (or it cannot be read).
    func state(_ key: String) async throws -> SignInThrottle.State {
        guard let record = try await SignInThrottleRecord.find(key, on: db) else { return SignInThrottle.State() }
        return (try? JSONDecoder().decode(SignInThrottle.State.self, from: Data(record.state.utf8))) ?? SignInThrottle.State()
    }

    func save(_ key: String, _ state: SignInThrottle.State, at now: Date) async throws {
        let record = try await SignInThrottleRecord.find(key, on: db) ?? {
            let fresh = SignInThrottleRecord()
            fresh.id = key
            return fresh
        }()
        record.state = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        record.lockedUntil = state.lockedUntil
        record.updatedAt = now
        try await record.save(on: db)
    }

    /// The state under `key`, its row locked for this transaction (PostgreSQL: `FOR UPDATE`;
    /// SQLite: the write gate already admits one writer), so that two sign-ins at once count
    /// their failures one after the other instead of both writing "one more" over the same count.
    func lockedState(_ key: String, at now: Date) async throws -> SignInThrottle.State {
        let sql = try db.sql()
        try await sql.raw("""
            INSERT INTO sign_in_throttles (key, state, updated_at) VALUES (\(bind: key), '{}', \(bind: now)) ON CONFLICT (key) DO NOTHING
            """).run()
        let lock: SQLQueryString = SQLEngine.of(db) == .postgres ? " FOR UPDATE" : ""
        guard let row = try await sql.raw("SELECT state FROM sign_in_throttles WHERE key = \(bind: key)\(lock)").first(),
              let text = try? row.decode(column: "state", as: String.self),
              let state = try? JSONDecoder().decode(SignInThrottle.State.self, from: Data(text.utf8)) else { return SignInThrottle.State() }
        return state
    }

    /// The states of every key starting with `prefix` (an account's per-place throttles).
    func states(prefix: String) async throws -> [SignInThrottle.State] {
        try await SignInThrottleRecord.query(on: db).filter(\.$id >= prefix).filter(\.$id < prefix + "\u{10FFFF}").all().compactMap {
            try? JSONDecoder().decode(SignInThrottle.State.self, from: Data($0.state.utf8))
        }
    }

    /// Forgets `key`'s failures and lock.
    func clear(_ key: String) async throws {
        try await SignInThrottleRecord.query(on: db).filter(\.$id == key).delete()
    }

    /// Forgets every key starting with `prefix`.
    func clear(prefix: String) async throws {
        try await SignInThrottleRecord.query(on: db).filter(\.$id >= prefix).filter(\.$id < prefix + "\u{10FFFF}").delete()
    }
}
