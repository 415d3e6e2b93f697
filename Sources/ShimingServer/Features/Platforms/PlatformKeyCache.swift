import Foundation
import Synchronization

/// The platform and key behind an API key, kept for a short while so that a platform's next
/// calls skip the lookup (every platform call makes it; the verification query is called on
/// every sensitive action of every platform).
///
/// A lookup is reused for at most `SHIMING_SESSION_CACHE_SECONDS`, as a session's is (another
/// instance may revoke the key or change the platform meanwhile), and never after a change to a
/// platform or its keys made by this instance (`PlatformService` calls `forgetAll()` after each
/// commits): a key revoked here is refused by the very next call. Unlike the session cache it
/// does not end with every write: the verification query writes on every call.
final class PlatformKeyCache: Sendable {
    private let lookups: RecentLookups<(PlatformKey, Platform)>
    private let changeCount = Atomic<Int>(0)

    init(lifetime: TimeInterval) {
        lookups = RecentLookups(lifetime: lifetime)
    }

    /// Changes made so far on this instance: read before a lookup, and given to `keep` with it.
    var changes: Int { changeCount.load(ordering: .acquiring) }

    /// The kept lookup of `keyHash`, if still usable at `now`.
    func find(_ keyHash: String, at now: Date) -> (PlatformKey, Platform)? {
        lookups.find(keyHash, at: now, stamp: changes)
    }

    /// Keeps a lookup made at `now`; `changes` is the count read before it started.
    func keep(_ found: (PlatformKey, Platform), for keyHash: String, at now: Date, changes: Int) {
        lookups.keep(found, for: keyHash, at: now, stamp: changes)
    }

    /// A platform or a key has changed: no lookup made before is used again.
    func forgetAll() {
        changeCount.add(1, ordering: .releasing)
        lookups.removeAll()
    }
}
