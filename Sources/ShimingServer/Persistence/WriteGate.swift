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
    /// change of this count may be out of date (`ShimingContext.sessions`).
    var writes: Int { ended.load(ordering: .acquiring) }
    /// How many times `writes` has doubled (`growth(of:)`): a statement whose plan depends on
    /// how large its tables are is planned afresh at each step (`PlannedAsDataGrows`).
    var growth: Int { Self.growth(of: writes) }

    /// The binary digits of `writes`: 0 for none, 1 for one, 2 for two or three, 3 for four to
    /// seven, …
    static func growth(of writes: Int) -> Int { Int.bitWidth - writes.leadingZeroBitCount }

    /// Runs `body` admitted through the gate, without opening a transaction (for bulk writers
    /// that manage their own, e.g. the roster import on one SQLite connection).
    public func exclusive<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        defer { ended.add(1, ordering: .releasing) }
        guard let serial else { return try await body() }
        return try await serial.run(body)
    }

    /// Runs `body` inside a database transaction, admitted through the gate. `repeatable`: the
    /// body changes nothing but through the transaction, so it may run again after its first
    /// run was rolled back, and a group on PostgreSQL runs it without a savepoint of its own
    /// (`GroupCommit`).
    /// `locksChainItself`: the body's first statement takes the audit chain's lock where the
    /// group would take it first (`AuditChainTail.awaitingLock`).
    @discardableResult
    public func transaction<T: Sendable>(
        on db: any Database,
        repeatable: Bool = false,
        locksChainItself: Bool = false,
        _ body: @escaping @Sendable (any Database) async throws -> T
    ) async throws -> T {
        defer { ended.add(1, ordering: .releasing) }
        guard let group else {
            return try await db.transaction { try await body($0) }
        }
        return try await group.run(on: try writer?.database() ?? db, lock: serial, repeatable: repeatable, locksChainItself: locksChainItself, body)
    }

    /// Runs `body` on the writer's connection outside any transaction, between the groups of
    /// transactions: for a write that is one statement, which PostgreSQL commits by itself, one
    /// round trip where a transaction of it is three (`BEGIN`, it, `COMMIT`). `body` is given
    /// the audit chain's end as this instance's last commit left it (nil: not known, as after a
    /// failed one; its statement must check it under the chain's lock), and answers the end its
    /// statement left (nil: not known).
    func statement<T: Sendable>(on db: any Database,
                                _ body: @escaping @Sendable (any Database, AuditChainEnd?) async throws -> (T, AuditChainEnd?)) async throws -> T {
        defer { ended.add(1, ordering: .releasing) }
        guard let group else { return try await body(db, nil).0 }
        return try await group.alone(on: try writer?.database() ?? db, lock: serial, body)
    }
}

/// Write transactions that queue while one commits run together: one SQLite transaction in
/// which each runs in a savepoint of its own (one that fails is rolled back alone, as its own
/// transaction would have been, and its caller gets its error), then one commit, one flush to
/// disk. Every caller returns only after that commit: an answered write is as durable as
/// before (`synchronous=FULL` stays), the disk is flushed once per group instead of once per
/// write. A transaction alone runs as it always did, without a savepoint. The bodies prefer
/// `executor` (the writer's thread or loop), so that the code between their statements does
/// not wait for a turn on a busy event loop.
///
/// A savepoint is a round trip of the writer's chain on PostgreSQL. Repeatable transactions
/// (they change nothing but through the transaction) that follow each other share one: the
/// first opens it, the ones after it run under it. When one of them fails, the savepoint is
/// rolled back, which undoes the ones before it under the same savepoint too; those run again,
/// each in a savepoint of its own, and what their second run gives is their outcome.
final class GroupCommit: Sendable {
    private struct Waiter: Sendable {
        let body: @Sendable (any Database) async throws -> Void
        let done: CheckedContinuation<(any Error)?, Never>
        let repeatable: Bool
        let locksChainItself: Bool
        /// A statement run alone, outside any transaction (`WriteGate.statement`); nil: a
        /// transaction (`body`).
        let alone: (@Sendable (any Database, AuditChainEnd?) async throws -> AuditChainEnd?)?
        /// The request loop the caller waits on (nil: none), where it is resumed.
        let loop: (any EventLoop)?
    }

    private struct State {
        var leading = false
        var waiting: [Waiter] = []
        var commits = 0
        var transactions = 0
        /// The audit chain's end as the last commit left it, where the gate's groups take the
        /// chain's lock (nil: not known).
        var chainEnd: AuditChainEnd?
    }

    private let state = NIOLockedValueBox(State())
    private let executor: (any TaskExecutor)?
    /// Whether each group takes the audit chain's lock before its transactions run (then
    /// appending an event need not); a group of one transaction that takes it in its first
    /// statement (`locksChainItself`) leaves it to that statement.
    private let locksChain: Bool
    /// At most this many transactions commit together (a group holds the writer that long).
    static let largestGroup = 32

    init(executor: (any TaskExecutor)? = nil, locksChain: Bool = false) {
        self.executor = executor
        self.locksChain = locksChain
    }

    var commits: Int { state.withLockedValue { $0.commits } }
    var transactions: Int { state.withLockedValue { $0.transactions } }
    var waiting: Int { state.withLockedValue { $0.waiting.count } }

    func run<T: Sendable>(on db: any Database, lock: AsyncSerialLock?, repeatable: Bool = false, locksChainItself: Bool = false,
                          _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        let result = NIOLockedValueBox<T?>(nil)
        return try await wait(on: db, lock: lock, result: result) { done, loop in
            Waiter(body: { tx in
                let value = try await body(tx)
                result.withLockedValue { $0 = value }
            }, done: done, repeatable: repeatable, locksChainItself: locksChainItself, alone: nil, loop: loop)
        }
    }

    /// `WriteGate.statement`: `body` runs alone, between groups, outside any transaction.
    func alone<T: Sendable>(on db: any Database, lock: AsyncSerialLock?,
                            _ body: @escaping @Sendable (any Database, AuditChainEnd?) async throws -> (T, AuditChainEnd?)) async throws -> T {
        let result = NIOLockedValueBox<T?>(nil)
        return try await wait(on: db, lock: lock, result: result) { done, loop in
            Waiter(body: { _ in }, done: done, repeatable: false, locksChainItself: false, alone: { db, end in
                let (value, after) = try await body(db, end)
                result.withLockedValue { $0 = value }
                return after
            }, loop: loop)
        }
    }

    /// Queues the waiter `make` gives, leading if nobody does, and answers its result.
    private func wait<T: Sendable>(on db: any Database, lock: AsyncSerialLock?, result: NIOLockedValueBox<T?>,
                                   _ make: (CheckedContinuation<(any Error)?, Never>, (any EventLoop)?) -> Waiter) async throws -> T {
        let loop = CallerLoops.current
        let failure = await withCheckedContinuation { (done: CheckedContinuation<(any Error)?, Never>) in
            let waiter = make(done, loop)
            let leads = state.withLockedValue { state -> Bool in
                state.waiting.append(waiter)
                guard !state.leading else { return false }
                state.leading = true
                return true
            }
            // The first to arrive at an idle gate starts a leader; it commits group after group
            // until nobody waits. It runs on the writer's executor: on a request loop, it would
            // wait for a turn behind the requests' work before each group, and again after it,
            // while the writer idled.
            if leads { Task(executorPreference: executor) { await self.lead(on: db, lock: lock) } }
        }
        if let failure { throw failure }
        guard let value = result.withLockedValue({ $0 }) else { throw GroupCommitError.noResult }
        return value
    }

    private func lead(on db: any Database, lock: AsyncSerialLock?) async {
        while true {
            let batch = state.withLockedValue { state -> [Waiter] in
                // A statement alone runs alone; the transactions before the next one run together.
                let taken = state.waiting.first?.alone != nil ? 1 : state.waiting.prefix(Self.largestGroup).prefix { $0.alone == nil }.count
                let batch = Array(state.waiting.prefix(taken))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.leading = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let outcomes: [(any Error)?]
            do {
                let run: @Sendable () async -> [(any Error)?] = {
                    if let alone = batch[0].alone { [await self.runAlone(alone, on: db)] } else { await self.commit(batch, on: db) }
                }
                if let lock { outcomes = try await lock.run(run) } else { outcomes = await run() }
            } catch {
                outcomes = batch.map { _ in error }
            }
            state.withLockedValue {
                $0.commits += 1
                $0.transactions += batch.count
            }
            // Each caller on its own loop (`CallerLoops.deliver`), as a `Batcher`'s are.
            CallerLoops.deliver(zip(batch, outcomes).map { ($0.loop, ($0.done, $1)) }) { done, outcome in done.resume(returning: outcome) }
        }
    }

    /// Runs a statement alone (`WriteGate.statement`); answers its error (nil: done).
    private func runAlone(_ body: @Sendable (any Database, AuditChainEnd?) async throws -> AuditChainEnd?,
                          on db: any Database) async -> (any Error)? {
        let end = state.withLockedValue { $0.chainEnd }
        do {
            let after = try await withTaskExecutorPreference(executor) { try await body(db, end) }
            state.withLockedValue { $0.chainEnd = after }
            return nil
        } catch {
            state.withLockedValue { $0.chainEnd = nil }
            return error
        }
    }

    /// Runs a group in one transaction; answers each one's error (nil: committed).
    private func commit(_ batch: [Waiter], on db: any Database) async -> [(any Error)?] {
        state.withLockedValue { $0.chainEnd = nil }  // until this group has committed
        do {
            // In the leader's task (`InPlaceTransactions`), on the writer's executor; a database
            // that cannot runs its body in a task of its own, so the preference is stated inside.
            let committed = try await db.transactionInPlace { [executor, locksChain] tx in try await withTaskExecutorPreference(executor) {
                let sql = try tx.sql()
                // A transaction alone that takes the lock in its first statement takes it there.
                let tail = !locksChain ? AuditChainTail()
                    : batch.count == 1 && batch[0].locksChainItself ? AuditChainTail.awaitingLock()
                    : AuditChainTail(lockedAt: try await AuditLog.lockChain(on: sql))
                let outcomes = try await AuditChainTail.$current.withValue(tail) { () async throws -> [(any Error)?] in
                    if batch.count == 1 {
                        // Alone: as its own transaction, without a savepoint.
                        try await batch[0].body(tx)
                        return [nil]
                    }
                    // A transaction in a savepoint of its own: `ROLLBACK TO` the newest savepoint
                    // of the name undoes it alone when it fails.
                    func inOwnSavepoint(_ waiter: Waiter) async throws -> (any Error)? {
                        try await sql.raw("SAVEPOINT grouped").run()
                        let mark = tail.mark
                        guard let error = await Self.attempt(waiter, on: tx) else { return nil }
                        try await sql.raw("ROLLBACK TO grouped").run()
                        tail.restore(mark)  // its events are gone with it
                        return error
                    }
                    var outcomes = [(any Error)?](repeating: nil, count: batch.count)
                    if SQLEngine.of(sql: sql) == .sqlite {
                        // SQLite: each in a savepoint of its own, released once it ended. Its
                        // statements cost no round trip, and an open savepoint keeps every page
                        // changed under it in SQLite's statement journal, a list of 1 KiB chunks
                        // that each statement's end walks from its start: over a group of
                        // submissions, 9 % of the writer's time. Released, it empties.
                        for (index, waiter) in batch.enumerated() {
                            outcomes[index] = try await inOwnSavepoint(waiter)
                            try await sql.raw("RELEASE grouped").run()
                        }
                        return outcomes
                    }
                    // On PostgreSQL, where each statement is a round trip, a savepoint is opened
                    // over the ones before (never released: the commit ends them all), so a
                    // transaction costs one statement more, not two, and a repeatable one that
                    // follows repeatable ones costs none (`shared`: those run under the newest
                    // savepoint, and when one fails the others that shared it run again).
                    var shared: [Int] = []
                    var mark = tail.mark
                    for (index, waiter) in batch.enumerated() {
                        guard waiter.repeatable, !shared.isEmpty else {
                            mark = tail.mark
                            outcomes[index] = try await inOwnSavepoint(waiter)
                            shared = waiter.repeatable && outcomes[index] == nil ? [index] : []
                            continue
                        }
                        // Under the savepoint of the ones in `shared`.
                        guard let error = await Self.attempt(waiter, on: tx) else {
                            shared.append(index)
                            continue
                        }
                        try await sql.raw("ROLLBACK TO grouped").run()
                        tail.restore(mark)
                        outcomes[index] = error
                        // The ones it shared the savepoint with were undone too: each runs again.
                        for again in shared { outcomes[again] = try await inOwnSavepoint(batch[again]) }
                        shared = []
                    }
                    return outcomes
                }
                // The group's audit events, in one statement: a failure here fails the group.
                try await tail.flush(on: sql)
                // The chain's end it leaves, if it held the chain's lock (kept once committed).
                let end = locksChain && !tail.awaitsLock ? tail.last : nil
                return (outcomes, end)
            } }
            state.withLockedValue { $0.chainEnd = committed.1 }
            return committed.0
        } catch {
            // Nothing of the group was committed.
            return batch.map { _ in error }
        }
    }
}

extension GroupCommit {
    /// Runs a waiter's body in the group's transaction, then sends the writes it queued (so
    /// that they fail it, not the next one: `DeferredWrites`); its error, or nil. A failed one's
    /// queued writes are dropped: the caller rolls it back.
    private static func attempt(_ waiter: Waiter, on tx: any Database) async -> (any Error)? {
        do {
            try await waiter.body(tx)
            try await tx.flushDeferredWrites()
            return nil
        } catch {
            tx.discardDeferredWrites()
            return error
        }
    }
}

enum GroupCommitError: Error {
    /// A transaction reported neither a value nor an error (cannot happen).
    case noResult
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
