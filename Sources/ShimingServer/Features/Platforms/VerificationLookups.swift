import Foundation
import IdentityRules

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
/// next query, 404, as before.
///
/// The answer made from the read is kept with it (`Kept`), for the day it was made on (its age
/// claims are that day's), and serves the next queries whose write found the very grant and
/// verification kept. It holds the claims the grant discloses to the platform and nothing more:
/// the application stays sealed, as in the database, and is not kept opened.
final class VerificationLookups: Sendable {
    /// A read kept, and the answer made from it.
    struct Kept: Sendable, Equatable {
        let found: GrantStore.Queried
        let answer: VerificationAnswer
        /// The day (China's) the answer was made on.
        let day: CivilDate

        /// The answer kept, for a query whose write found `found` on `day`; nil where it found
        /// something else, or on another day (the answer is then made afresh).
        func answer(for found: GrantStore.Queried, on day: CivilDate) -> VerificationAnswer? {
            found == self.found && day == self.day ? answer : nil
        }
    }

    private let lookups: RecentLookups<Kept>

    init(lifetime: TimeInterval, capacity: Int = 4_096) {
        lookups = RecentLookups(lifetime: lifetime, capacity: capacity)
    }

    /// The kept read of `subject` for `platform`, if still usable at `now` under `stamp`
    /// (`WriteGate.changes`, read now).
    func find(platform: UUID, subject: String, at now: Date, stamp: Int) -> Kept? {
        lookups.find(Self.key(platform, subject), at: now, stamp: stamp) { kept in
            kept.found.verified?.expiresAt.map { $0 > now } ?? true
        }
    }

    /// Keeps a grant in force the query found, read at `now` under `stamp` (read before the read
    /// started), with the answer made from it.
    func keep(_ kept: Kept, platform: UUID, subject: String, at now: Date, stamp: Int) {
        lookups.keep(kept, for: Self.key(platform, subject), at: now, stamp: stamp)
    }

    private static func key(_ platform: UUID, _ subject: String) -> String {
        platform.lowercasedText + "/" + subject
    }
}
