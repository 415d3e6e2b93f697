import Foundation
import Synchronization

/// What this instance last found for the verification queries, so that a batch of them whose
/// outcome it can expect is written in one statement, outside any transaction
/// (`GrantService.recordQueries`, PostgreSQL): each platform's subject's grant in force (or
/// none) as the last write of a query for it found it. Nothing here is trusted: the statement
/// checks all of it under the audit chain's lock and fails, keeping nothing, where it does not
/// hold; the batch is then written the long way, and what it finds is kept instead.
///
/// A batch whose outcome was not as expected cost its statement and then the long way, both
/// waiting for the chain's lock. Where that keeps happening (two instances under load: each
/// one's writes move the chain's end under the other's expectations; bench-scale, session 55:
/// 590 of 699 batches), the batches after a miss go the long way at once (`attempts`): one after
/// the first miss in a row, then two, four, up to 64; a batch written as expected ends the run.
final class QueryExpectations: Sendable {
    private struct Asked: Hashable {
        let platform: UUID
        let subject: String
    }

    private struct State {
        var grants: [Asked: UUID?] = [:]
        var met = 0
        var unmet = 0
        /// Batches not as expected in a row (since the last one as expected).
        var misses = 0
        /// Batches still to go the long way at once after the last miss.
        var skipping = 0
    }

    private let state = Mutex(State())
    /// At most this many subjects are kept (a few MB); past it, all are forgotten.
    static let largest = 16_384
    /// At most this many batches go the long way at once after a miss.
    static let longestSkip = 64

    /// Whether the next batch may be written as expected, or goes the long way at once (it
    /// follows a miss closely; each such batch counts down the skip).
    func attempts() -> Bool {
        state.withLock { state in
            guard state.skipping > 0 else { return true }
            state.skipping -= 1
            return false
        }
    }

    /// The grant last found for the platform's subject: `.some(nil)` none, `nil` not known.
    func grant(platform: UUID, subject: String) -> UUID?? {
        state.withLock { $0.grants[Asked(platform: platform, subject: subject)] }
    }

    /// Keeps the grant a write found for the platform's subject (nil: none).
    func found(_ grant: UUID?, platform: UUID, subject: String) {
        state.withLock { state in
            if state.grants.count >= Self.largest { state.grants.removeAll() }
            state.grants[Asked(platform: platform, subject: subject)] = .some(grant)
        }
    }

    /// A batch was written in one statement (`met`) or its outcome was not as expected; after
    /// the nth miss in a row, the next 2^(n-1) batches (at most `longestSkip`) go the long way.
    func wrote(asExpected met: Bool) {
        state.withLock { state in
            guard !met else {
                state.met += 1
                state.misses = 0
                return
            }
            state.unmet += 1
            state.misses += 1
            state.skipping = min(1 << min(state.misses - 1, 16), Self.longestSkip)
        }
    }

    /// Batches written in one statement since the start (`/metrics`, tests).
    var met: Int { state.withLock { $0.met } }
    /// Batches whose outcome was not as expected, then written the long way.
    var unmet: Int { state.withLock { $0.unmet } }
}
