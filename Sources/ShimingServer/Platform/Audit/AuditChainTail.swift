import NIOConcurrencyHelpers
import SQLKit

/// The end of the audit chain as the write group's transaction has left it so far, so that
/// each event after the group's first is chained without reading the last one back; the
/// group's events not stored yet, all inserted in one statement before its commit (`flush`).
/// A group that took the chain's lock before anything else (PostgreSQL's writer) knows the end
/// from then on; so does a group of one transaction whose first statement took the lock and
/// read the end itself (`awaitingLock`). Only the write gate's groups have one
/// (`AuditChainTail.current`). A transaction of the group rolled back to its savepoint takes
/// its events back (`mark`, `restore`), so the events after it chain to the one before it.
final class AuditChainTail: Sendable {
    private struct State {
        var last: AuditChainEnd?
        var pending: [AuditEvent] = []
        /// The lock is to be taken by the transaction's first statement (`awaitingLock`).
        var awaitsLock = false
    }

    private let state: NIOLockedValueBox<State>

    /// A group's tail that does not hold the chain's lock: the end is read at its first event.
    init() {
        state = NIOLockedValueBox(State())
    }

    /// A group's tail that holds the chain's lock, with the end it read then (nil: empty chain).
    convenience init(lockedAt end: AuditChainEnd?) {
        self.init()
        locked(at: end)
    }

    /// The tail of a group of one transaction declared to take the chain's lock in its first
    /// statement, which reads the end with it (`locked(at:)`): one round trip less on the
    /// writer than taking it before. Such a transaction must take it before anything that locks
    /// a row (`lock(on:)` when its first statement does not run), as every group does, so that
    /// two instances cannot each hold what the other waits for.
    static func awaitingLock() -> AuditChainTail {
        let tail = AuditChainTail()
        tail.state.withLockedValue { $0.awaitsLock = true }
        return tail
    }

    /// Whether the transaction's first statement is still to take the chain's lock.
    var awaitsLock: Bool { state.withLockedValue { $0.awaitsLock } }

    /// The transaction's statement took the chain's lock and read its end (nil: empty chain).
    func locked(at end: AuditChainEnd?) {
        state.withLockedValue {
            $0.awaitsLock = false
            $0.last = end ?? (0, AuditEvent.genesisHash)
        }
    }

    /// Takes the chain's lock (`AuditLog.lockChain`) if it is still to be taken.
    func lock(on sql: any SQLDatabase) async throws {
        guard awaitsLock else { return }
        locked(at: try await AuditLog.lockChain(on: sql))
    }

    /// The last event of this group's transaction so far (sequence 0 and the genesis hash
    /// before the first event of a chain); nil: read it from the table.
    var last: AuditChainEnd? { state.withLockedValue { $0.last } }

    /// Adds an event chained to `last`.
    func append(_ event: AuditEvent) {
        state.withLockedValue {
            $0.pending.append(event)
            $0.last = (event.seq, event.hash)
        }
    }

    /// Where the chain stands before one of the group's transactions.
    struct Mark {
        fileprivate let last: AuditChainEnd?
        fileprivate let pending: Int
    }

    var mark: Mark { state.withLockedValue { Mark(last: $0.last, pending: $0.pending.count) } }

    /// Forgets the events appended after `mark` (their transaction was rolled back).
    func restore(_ mark: Mark) {
        state.withLockedValue {
            $0.pending.removeLast($0.pending.count - mark.pending)
            $0.last = mark.last
        }
    }

    /// Stores the group's events, in the group's transaction.
    func flush(on sql: any SQLDatabase) async throws {
        let events = state.withLockedValue { state -> [AuditEvent] in
            defer { state.pending = [] }
            return state.pending
        }
        try await AuditLog.insert(events, on: sql)
    }

    @TaskLocal static var current: AuditChainTail?
}
