import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Synchronization
import Vapor

/// Runs write transactions so that they cannot deadlock or lose their snapshot, and commits
/// them in groups.
///
/// SQLite allows one writer at a time; Fluent opens one connection per event loop, and two
/// deferred transactions that both read then write can fail with `SQLITE_BUSY` instead of
/// waiting. On SQLite the gate therefore admits one write transaction at a time within the
/// process (an SQLite deployment is one process). On PostgreSQL every state change appends to
/// the audit chain under one lock held until commit, so writes were one at a time there too;
/// code still relies on row locks and constraints, as other instances write at the same time.
///
/// On both engines the transactions run on a connection of their own (`GateWriter`), and their
/// bodies run on that connection's own event loop, not on the request's busy event loop.
/// They commit in groups (`GroupCommit`): one flush to disk for the writes that queued while
/// the one before committed.
public final class WriteGate: Sendable {
    private let serial: AsyncSerialLock?
    private let group: GroupCommit?
    private let writer: GateWriter?
    private let ended = Atomic<Int>(0)
    private let changed = Atomic<Int>(0)

    /// Creates a gate; `serialises` is true for SQLite. With a `writer`, transactions run
    /// there, instead of on the database they are called with, in groups.
    init(serialises: Bool, writer: GateWriter? = nil) {
        serial = serialises ? AsyncSerialLock() : nil
        group = serialises || writer != nil ? GroupCommit(executor: writer?.executor, locksChain: writer?.locksChain ?? false) : nil
        self.writer = writer
    }

    /// How many transactions the gate has committed (a group counts once; tests, `/metrics`).
    var commits: Int { group?.commits ?? 0 }
    /// How many transactions have ended in those groups, committed or rolled back (`/metrics`:
    /// per group, how many shared a commit).
    var grouped: Int { group?.transactions ?? 0 }
    /// How many transactions wait for the next group; for tests.
    var waiting: Int { group?.waiting ?? 0 }
    /// Where the writer's transactions run (its connection's own loop), if it has one: work
    /// that only hands writes to the gate and their results back (`Batcher`'s leaders) runs
    /// there too, instead of waiting for a turn on a busy request loop between batches.
    var executor: (any TaskExecutor)? { writer?.executor }
    /// The writer's database (nil without a writer); for tests.
    var writerDatabase: (any Database)? { try? writer?.database() }
    /// How many write transactions (and exclusive bulk writes) have ended, each counted once
    /// its commit (or rollback) is done and before its caller goes on: what was read before a
    /// change of this count may be out of date.
    var writes: Int { ended.load(ordering: .acquiring) }
    /// `writes` but for the verification queries' own records (`changesLookups: false`: their
    /// counts, notes and audit events, which no lookup reads), counted alike: the stamp of the
    /// lookups that the queries' writes must not end (`ShimingContext.sessions`,
    /// `ShimingContext.verifications`).
    var changes: Int { changed.load(ordering: .acquiring) }
    /// How many times `writes` has doubled (`growth(of:)`): a statement whose plan depends on
    /// how large its tables are is planned afresh at each step (`PlannedAsDataGrows`).
    var growth: Int { Self.growth(of: writes) }

    /// The binary digits of `writes`: 0 for none, 1 for one, 2 for two or three, 3 for four to
    /// seven, …
    static func growth(of writes: Int) -> Int { Int.bitWidth - writes.leadingZeroBitCount }

    /// Runs `body` admitted through the gate, without opening a transaction (for bulk writers
    /// that manage their own, e.g. the roster import on one SQLite connection).
    public func exclusive<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        defer { end(changesLookups: true) }
        guard let serial else { return try await body() }
        return try await serial.run(body)
    }

    /// Runs `body` inside a database transaction, admitted through the gate. `repeatable`: the
    /// body changes nothing but through the transaction, so it may run again after its first
    /// run was rolled back, and a group on PostgreSQL runs it without a savepoint of its own
    /// (`GroupCommit`).
    /// `locksChainItself`: the body's first statement takes the audit chain's lock where the
    /// group would take it first (`AuditChainTail.awaitingLock`).
    /// `footprint`, for a repeatable body: keys (e.g. `case:<id>`, `account:<id>`) naming the
    /// rows its queued writes change (`runDeferred`) and those its first statement reads; naming
    /// more is safe. Of two such bodies one after the other in a group with no key in common,
    /// the first one's queued writes go with the second one's first statement on PostgreSQL,
    /// which would not have read what they change (`GroupCommit`).
    /// `changesLookups`: false for the verification queries' records alone (`changes`).
    @discardableResult
    public func transaction<T: Sendable>(
        on db: any Database,
        repeatable: Bool = false,
        locksChainItself: Bool = false,
        footprint: Set<String>? = nil,
        changesLookups: Bool = true,
        _ body: @escaping @Sendable (any Database) async throws -> T
    ) async throws -> T {
        defer { end(changesLookups: changesLookups) }
        guard let group else {
            return try await db.transaction { try await body($0) }
        }
        return try await group.run(on: try writer?.database() ?? db, lock: serial, repeatable: repeatable, locksChainItself: locksChainItself,
                                   footprint: footprint, body)
    }

    /// Runs `body` on the writer's connection outside any transaction, between the groups of
    /// transactions: for a write that is one statement, which PostgreSQL commits by itself, one
    /// round trip where a transaction of it is three (`BEGIN`, it, `COMMIT`). `body` is given
    /// the audit chain's end as this instance's last commit left it (nil: not known, as after a
    /// failed one; its statement must check it under the chain's lock), and answers the end its
    /// statement left (nil: not known). `changesLookups` as for `transaction`.
    func statement<T: Sendable>(on db: any Database, changesLookups: Bool = true,
                                _ body: @escaping @Sendable (any Database, AuditChainEnd?) async throws -> (T, AuditChainEnd?)) async throws -> T {
        defer { end(changesLookups: changesLookups) }
        guard let group else { return try await body(db, nil).0 }
        return try await group.alone(on: try writer?.database() ?? db, lock: serial, body)
    }
}

extension WriteGate {
    /// Counts a write that has ended (committed or rolled back), before its caller goes on.
    private func end(changesLookups: Bool) {
        if changesLookups { changed.add(1, ordering: .releasing) }
        ended.add(1, ordering: .releasing)
    }
}

/// A first-come, first-served asynchronous mutex.
final class AsyncSerialLock: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { state -> Bool in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()  // ownership passes straight to the next waiter
    }
}
