import Foundation
import Synchronization

/// The platform and key behind an API key, kept for a short while so that a platform's next
/// calls skip the lookup (every platform call makes it; the verification query is called on
/// every sensitive action of every platform).
///
/// An entry is used only while both hold:
/// - it is younger than `lifetime` (`SHIMING_SESSION_CACHE_SECONDS`, as for sessions): another
///   instance may have revoked the key or changed the platform;
/// - no change to a platform or its keys has been made by this instance since it was read
///   (`PlatformService` calls `forgetAll()` after each commits): a key revoked here is refused
///   by the very next call.
///
/// Unlike the session cache it does not end with every write: the verification query writes on
/// every call. Only key hashes are keys.
final class PlatformKeyCache: Sendable {
    private struct Entry {
        var key: PlatformKey
        var platform: Platform
        var changes: Int
        var readAt: Date
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Changes to platforms and keys made by this instance so far.
        var changes = 0
    }

    let lifetime: TimeInterval
    /// Past this many entries the cache starts afresh.
    let capacity: Int
    private let state = Mutex(State())

    init(lifetime: TimeInterval, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Changes made so far: read before a lookup, and given to `keep` with its result.
    var changes: Int { state.withLock { $0.changes } }

    /// The cached lookup of `keyHash`, if still usable at `now`.
    func find(_ keyHash: String, at now: Date) -> (PlatformKey, Platform)? {
        guard lifetime > 0 else { return nil }
        return state.withLock { state in
            guard let entry = state.entries[keyHash] else { return nil }
            guard entry.changes == state.changes, entry.readAt <= now, now.timeIntervalSince(entry.readAt) < lifetime else {
                state.entries[keyHash] = nil
                return nil
            }
            return (entry.key, entry.platform)
        }
    }

    /// Keeps a lookup made at `now`; `changes` is the count read before the lookup started, so
    /// a change that ended during it makes the entry unusable.
    func keep(_ found: (PlatformKey, Platform), for keyHash: String, at now: Date, changes: Int) {
        guard lifetime > 0 else { return }
        state.withLock { state in
            guard changes == state.changes else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[keyHash] = Entry(key: found.0, platform: found.1, changes: changes, readAt: now)
        }
    }

    /// A platform or a key has changed: no entry read before is used again.
    func forgetAll() {
        state.withLock { state in
            state.changes += 1
            state.entries.removeAll(keepingCapacity: true)
        }
    }
}
