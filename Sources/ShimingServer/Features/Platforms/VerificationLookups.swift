import Foundation

/// What the verification query last read for a platform's subject (the grant in force with the
/// verification the platform accepts, `GrantStore.Queried`), kept for a short while so that the
/// platform's next queries about the same person skip that read.
///
/// A kept read is used only while all of these hold:
/// - it is younger than `SHIMING_SESSION_CACHE_SECONDS`, as a session's or a key's lookup is:
///   another instance (or a command beside the server) may change the verification meanwhile;
/// - no write of this instance has ended since it was read (`WriteGate.changes`), but for the
///   queries' own records (their counts, notes and audit events, which it does not read): a
///   verification revoked, renewed or erased here is seen by the very next query;
/// - the verification it holds has not expired.
///
/// Whether the grant is still in force is not taken from it: each query's write checks that
/// (`Store.countCallsAndRecordQueries`), so a grant withdrawn anywhere is refused by the very
/// next query, 404, as before. What is kept is what the database holds: the application stays
/// sealed, and is opened only to make each answer, as when it is read.
final class VerificationLookups: Sendable {
    private let lookups: RecentLookups<GrantStore.Queried>

    init(lifetime: TimeInterval, capacity: Int = 4_096) {
        lookups = RecentLookups(lifetime: lifetime, capacity: capacity)
    }

    /// The kept read of `subject` for `platform`, if still usable at `now` under `stamp`
    /// (`WriteGate.changes`, read now).
    func find(platform: UUID, subject: String, at now: Date, stamp: Int) -> GrantStore.Queried? {
        lookups.find(Self.key(platform, subject), at: now, stamp: stamp) { found in
            found.verified?.expiresAt.map { $0 > now } ?? true
        }
    }

    /// Keeps a grant in force the query found, read at `now` under `stamp` (read before the read started).
    func keep(_ found: GrantStore.Queried, platform: UUID, subject: String, at now: Date, stamp: Int) {
        lookups.keep(found, for: Self.key(platform, subject), at: now, stamp: stamp)
    }

    private static func key(_ platform: UUID, _ subject: String) -> String {
        platform.lowercasedText + "/" + subject
    }
}
