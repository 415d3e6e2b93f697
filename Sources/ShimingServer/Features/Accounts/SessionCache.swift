import Foundation
import ShimingCore
import Synchronization

/// The account and session behind a token, kept for a short while so that a signed-in
/// client's next requests skip the lookup (every signed-in request makes it).
///
/// An entry is used only while both hold:
/// - it is younger than `lifetime` (`SHIMING_SESSION_CACHE_SECONDS`): another instance, or a
///   command run beside the server, may have signed the session out or changed the account;
/// - no write transaction of this instance has ended since it was read (`WriteGate.writes`):
///   a sign-out, a disabled account or a changed role here is seen by the very next request.
///
/// The session's own expiry is checked on every use. Only token hashes are keys.
final class SessionCache: Sendable {
    private struct Entry {
        var account: Account
        var session: Session
        var writes: Int
        var readAt: Date
    }

    let lifetime: TimeInterval
    /// Past this many entries the cache starts afresh (a burst of sign-ins cannot grow it).
    let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    init(lifetime: TimeInterval, capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The cached lookup, if still usable at `now` with `writes` transactions ended so far.
    func find(_ tokenHash: String, at now: Date, writes: Int) -> (Account, Session)? {
        guard lifetime > 0 else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[tokenHash] else { return nil }
            guard entry.writes == writes, entry.readAt <= now, now.timeIntervalSince(entry.readAt) < lifetime,
                  entry.session.expiresAt > now else {
                entries[tokenHash] = nil
                return nil
            }
            return (entry.account, entry.session)
        }
    }

    /// Keeps a lookup made at `now`; `writes` is the count read before the lookup started, so
    /// a write that ended during it makes the entry unusable.
    func keep(_ found: (Account, Session), for tokenHash: String, at now: Date, writes: Int) {
        guard lifetime > 0 else { return }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[tokenHash] = Entry(account: found.0, session: found.1, writes: writes, readAt: now)
        }
    }
}
