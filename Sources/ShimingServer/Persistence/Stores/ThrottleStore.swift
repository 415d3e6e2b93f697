import Fluent
import Foundation
import ShimingCore

extension Store {
    /// Sign-in throttles, by key (`account:…`, `ip:…`).
    var throttles: ThrottleStore { ThrottleStore(db: database) }
}

/// Rows of `sign_in_throttles` ⇄ `SignInThrottle.State`.
struct ThrottleStore: Sendable {
    let db: any Database

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

    /// Forgets `key`'s failures and lock.
    func clear(_ key: String) async throws {
        try await SignInThrottleRecord.query(on: db).filter(\.$id == key).delete()
    }
}
