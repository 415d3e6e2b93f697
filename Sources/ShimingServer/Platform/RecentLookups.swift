import Foundation
import Synchronization

/// Lookups kept for a short while, keyed by a hash (a session token's, an API key's), so that a
/// client's next requests skip reading them again. An entry is used only while both hold:
/// - it is younger than `lifetime` (another instance may have changed what it says);
/// - the stamp it was read under is still the caller's current one: a count of the changes on
///   this instance that could make it wrong, read before the lookup started, so that a change
///   ending during the lookup makes the entry unusable too.
///
/// `lifetime` 0 keeps nothing. Past `capacity` entries the cache starts afresh.
final class RecentLookups<Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var stamp: Int
        var readAt: Date
    }

    let lifetime: TimeInterval
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: TimeInterval, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The kept lookup of `key`, if read under `stamp`, younger than `lifetime` at `now`, and
    /// still `usable` (an expiry of its own).
    func find(_ key: String, at now: Date, stamp: Int, usable: (Value) -> Bool = { _ in true }) -> Value? {
        guard lifetime > 0 else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.stamp == stamp, entry.readAt <= now, now.timeIntervalSince(entry.readAt) < lifetime, usable(entry.value) else {
                entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    /// Keeps a lookup made at `now` under `stamp` (read before the lookup started).
    func keep(_ value: Value, for key: String, at now: Date, stamp: Int) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = Entry(value: value, stamp: stamp, readAt: now)
        }
    }

    /// Drops every entry.
    func removeAll() {
        entries.withLock { $0.removeAll(keepingCapacity: true) }
    }
}
