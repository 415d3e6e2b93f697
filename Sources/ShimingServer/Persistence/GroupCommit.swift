import Fluent
import NIOConcurrencyHelpers
import SQLKit
import Vapor

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
///
/// When such a transaction and the one after it name the rows they touch (`footprint`) and
/// none is in both, the first one's queued writes go with the second one's first statement
/// (`DeferredWrites.handOver`): a round trip less. Should that statement fail, both run again,
/// each in a savepoint of its own.
final class GroupCommit: Sendable {
    private struct Waiter: Sendable {
        let body: @Sendable (any Database) async throws -> Void
        let done: CheckedContinuation<(any Error)?, Never>
        let repeatable: Bool
        let locksChainItself: Bool
        /// Keys naming the rows its queued writes change and its first statement reads (nil:
        /// not said); see `WriteGate.transaction`.
        let footprint: Set<String>?
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
                          footprint: Set<String>? = nil, _ body: @escaping @Sendable (any Database) async throws -> T) async throws -> T {
        let result = NIOLockedValueBox<T?>(nil)
        return try await wait(on: db, lock: lock, result: result) { done, loop in
            Waiter(body: { tx in
                let value = try await body(tx)
                result.withLockedValue { $0 = value }
            }, done: done, repeatable: repeatable, locksChainItself: locksChainItself, footprint: footprint, alone: nil, loop: loop)
        }
    }

    /// `WriteGate.statement`: `body` runs alone, between groups, outside any transaction.
    func alone<T: Sendable>(on db: any Database, lock: AsyncSerialLock?,
                            _ body: @escaping @Sendable (any Database, AuditChainEnd?) async throws -> (T, AuditChainEnd?)) async throws -> T {
        let result = NIOLockedValueBox<T?>(nil)
        return try await wait(on: db, lock: lock, result: result) { done, loop in
            Waiter(body: { _ in }, done: done, repeatable: false, locksChainItself: false, footprint: nil, alone: { db, end in
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
                    func inOwnSavepoint(_ waiter: Waiter, handingOver next: Waiter? = nil) async throws -> (error: (any Error)?, handedOver: Bool) {
                        try await sql.raw("SAVEPOINT grouped").run()
                        let mark = tail.mark
                        let attempt = await Self.attempt(waiter, on: tx, handingOver: next)
                        guard let error = attempt.error else { return attempt }
                        try await sql.raw("ROLLBACK TO grouped").run()
                        tail.restore(mark)  // its events are gone with it
                        return (error, false)
                    }
                    var outcomes = [(any Error)?](repeating: nil, count: batch.count)
                    if SQLEngine.of(sql: sql) == .sqlite {
                        // SQLite: each in a savepoint of its own, released once it ended. Its
                        // statements cost no round trip, and an open savepoint keeps every page
                        // changed under it in SQLite's statement journal, a list of 1 KiB chunks
                        // that each statement's end walks from its start: over a group of
                        // submissions, 9 % of the writer's time. Released, it empties.
                        for (index, waiter) in batch.enumerated() {
                            outcomes[index] = try await inOwnSavepoint(waiter).error
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
                    // Whether the one before left its writes for this one's first statement.
                    var handedOver = false
                    for (index, waiter) in batch.enumerated() {
                        let next = index + 1 < batch.count ? batch[index + 1] : nil
                        guard waiter.repeatable, !shared.isEmpty else {
                            mark = tail.mark
                            let attempt = try await inOwnSavepoint(waiter, handingOver: next)
                            outcomes[index] = attempt.error
                            shared = waiter.repeatable && attempt.error == nil ? [index] : []
                            handedOver = attempt.handedOver
                            continue
                        }
                        // Under the savepoint of the ones in `shared`.
                        let attempt = await Self.attempt(waiter, on: tx, handingOver: next)
                        guard let error = attempt.error else {
                            shared.append(index)
                            handedOver = attempt.handedOver
                            continue
                        }
                        try await sql.raw("ROLLBACK TO grouped").run()
                        tail.restore(mark)
                        outcomes[index] = error
                        // The ones it shared the savepoint with were undone too: each runs again;
                        // and so does this one if its first statement carried their writes (the
                        // error may be theirs).
                        for again in shared + (handedOver ? [index] : []) { outcomes[again] = try await inOwnSavepoint(batch[again]).error }
                        shared = []
                        handedOver = false
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
    /// queued writes are dropped: the caller rolls it back. With `next`, the waiter to run after
    /// it under the same savepoint, where both named their rows and none is in both, the writes
    /// are left for `next`'s first statement (`DeferredWrites.handOver`; `handedOver` then tells).
    private static func attempt(_ waiter: Waiter, on tx: any Database, handingOver next: Waiter? = nil) async -> (error: (any Error)?, handedOver: Bool) {
        do {
            try await waiter.body(tx)
            if let next, next.repeatable, waiter.repeatable, let mine = waiter.footprint, let theirs = next.footprint, mine.isDisjoint(with: theirs) {
                return (nil, tx.handOverDeferredWrites())
            }
            try await tx.flushDeferredWrites()
            return (nil, false)
        } catch {
            tx.discardDeferredWrites()
            return (error, false)
        }
    }
}

enum GroupCommitError: Error {
    /// A transaction reported neither a value nor an error (cannot happen).
    case noResult
}
