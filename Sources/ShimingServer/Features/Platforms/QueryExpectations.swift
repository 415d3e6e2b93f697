import Foundation
import Synchronization

/// What this instance last found for the verification queries, so that a batch of them whose
/// outcome it can expect is written in one statement, outside any transaction
/// (`GrantService.recordQueries`, PostgreSQL): each platform's subject's grant in force (or
/// none) as the last write of a query for it found it. Nothing here is trusted: the statement
/// checks all of it under the audit chain's lock and fails, keeping nothing, where it does not
/// hold; the batch is then written the long way, and what it finds is kept instead.
final class QueryExpectations: Sendable {
    private struct Asked: Hashable {
        let platform: UUID
        let subject: String
    }

    private struct State {
        var grants: [Asked: UUID?] = [:]
        var met = 0
        var unmet = 0
    }

    private let state = Mutex(State())
    /// At most this many subjects are kept (a few MB); past it, all are forgotten.
    static let largest = 16_384

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

    /// A batch was written in one statement (`met`) or its outcome was not as expected.
    func wrote(asExpected met: Bool) {
        state.withLock { met ? ($0.met += 1) : ($0.unmet += 1) }
    }

    /// Batches written in one statement since the start (`/metrics`, tests).
    var met: Int { state.withLock { $0.met } }
    /// Batches whose outcome was not as expected, then written the long way.
    var unmet: Int { state.withLock { $0.unmet } }
}
