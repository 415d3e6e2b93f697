import NIOCore
import NIOPosix
import Synchronization

/// Calls that arrive while a batch runs wait, and run together as the next batch: many
/// requests' small writes of one kind in one transaction, with one statement each for what they
/// change together, instead of a transaction and its statements for each. A call alone runs at
/// once, as a batch of one.
///
/// Whoever finds fewer than `concurrent` batches running leads: it runs batch after batch with
/// its `body` until nobody waits. Every caller must therefore pass the same operation. Each
/// caller gets its own result: `body` answers one per input, in order.
///
/// With `concurrent` above one, a batch starts while others run (for reads, each on a
/// connection of its own): reads' batches wait on a round trip and then on decoding, and one
/// batch at a time left the machine idle part of the time (`ReadBatches`).
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    typealias Body = @Sendable ([Input]) async -> [Result<Output, any Error>]

    private struct Waiter: Sendable {
        let input: Input
        let done: CheckedContinuation<Result<Output, any Error>, Never>
        /// The request loop the caller waits on (nil: none), where it is resumed.
        let loop: (any EventLoop)?
    }

    private struct State: Sendable {
        var leaders = 0
        var waiting: [Waiter] = []
        var taken = 0
        /// Batches taken and not yet ended (a leader may have started and not taken one yet, or
        /// find nothing left to take).
        var holding = 0
        var batches = 0
    }

    private let state = Mutex(State())
    /// At most this many calls run in one batch.
    let largest: Int
    /// At most this many batches run at once.
    let concurrent: Int
    /// Where the leaders run (nil: the global executor, i.e. the request loops).
    private let executor: (any TaskExecutor)?

    /// `executor`: where the leaders run. A batch of writes hands itself to the write gate and
    /// waits for it, so its leader belongs on the writer's executor: on a request loop, every
    /// step between two batches waits for a turn behind the requests' work.
    init(largest: Int, concurrent: Int = 1, executor: (any TaskExecutor)? = nil) {
        precondition(largest > 0 && concurrent > 0)
        self.largest = largest
        self.concurrent = concurrent
        self.executor = executor
    }

    /// How many batches have run (tests, `/metrics`).
    var batches: Int { state.withLock { $0.batches } }
    /// How many calls wait for the next batch; for tests.
    var waiting: Int { state.withLock { $0.waiting.count } }
    /// How many batches run (taken, not yet ended), how many calls they hold, and how many
    /// leaders are alive; for tests.
    var running: (batches: Int, calls: Int, leaders: Int) { state.withLock { ($0.holding, $0.taken, $0.leaders) } }

    /// Runs `input` in the next batch and answers its result.
    func run(_ input: Input, body: @escaping Body) async throws -> Output {
        let loop = CallerLoops.current
        let result = await withCheckedContinuation { (done: CheckedContinuation<Result<Output, any Error>, Never>) in
            let leads = state.withLock { state -> Bool in
                state.waiting.append(Waiter(input: input, done: done, loop: loop))
                guard state.leaders < concurrent else { return false }
                state.leaders += 1
                return true
            }
            // Detached: the leader serves others' calls, and takes nothing of this caller's task.
            if leads { Task.detached(executorPreference: executor) { await self.lead(body) } }
        }
        return try result.get()
    }

    /// `run` for an operation that answers every input of its batch, in order, or fails them all
    /// with its error.
    func run(_ input: Input, all body: @escaping @Sendable ([Input]) async throws -> [Output]) async throws -> Output {
        try await run(input) { batch in
            do { return try await body(batch).map { .success($0) } } catch { return batch.map { _ in .failure(error) } }
        }
    }

    private func lead(_ body: Body) async {
        while true {
            let batch = state.withLock { state -> [Waiter] in
                let batch = Array(state.waiting.prefix(largest))
                state.waiting.removeFirst(batch.count)
                state.taken += batch.count
                if batch.isEmpty { state.leaders -= 1 } else { state.holding += 1 }
                return batch
            }
            guard !batch.isEmpty else { return }
            var results = await body(batch.map(\.input))
            if results.count != batch.count {
                // A body that miscounts fails the whole batch rather than answer anyone wrongly.
                results = batch.map { _ in .failure(BatcherError.resultsMiscounted) }
            }
            state.withLock {
                $0.batches += 1
                $0.taken -= batch.count
                $0.holding -= 1
            }
            Self.resume(batch, with: results)
        }
    }

    /// Resumes each caller on the loop it waits on (`CallerLoops.deliver`).
    private static func resume(_ batch: [Waiter], with results: [Result<Output, any Error>]) {
        CallerLoops.deliver(zip(batch, results).map { ($0.loop, ($0.done, $1)) }) { done, result in done.resume(returning: result) }
    }
}

/// Where callers that wait for others' work (a `Batcher`'s batch, a write group) are resumed:
/// on the request loop each waits on.
enum CallerLoops {
    /// The event loop the calling code runs on (nil: none, e.g. under the tests' executor).
    static var current: (any EventLoop)? { MultiThreadedEventLoopGroup.currentEventLoop }

    /// Hands each item to `resume` on its loop, with one task handed to each loop for all of its
    /// items, in order; an item without a loop (or on the loop this runs on) at once.
    ///
    /// A continuation resumed from the writer's thread (or a database connection's) goes to any
    /// request loop, in turn: half of the callers then ran on a loop other than their
    /// connection's, and handed their answer over to it again; and each resumption was a task
    /// handed across threads. On its own loop, a caller is resumed where it answers.
    static func deliver<Item: Sendable>(_ items: [(loop: (any EventLoop)?, item: Item)], resume: @escaping @Sendable (Item) -> Void) {
        var byLoop: [(loop: any EventLoop, items: [Item])] = []
        for (loop, item) in items {
            guard let loop, !loop.inEventLoop else {
                resume(item)
                continue
            }
            if let index = byLoop.firstIndex(where: { $0.loop === loop }) {
                byLoop[index].items.append(item)
            } else {
                byLoop.append((loop, [item]))
            }
        }
        for (loop, items) in byLoop {
            loop.execute { for item in items { resume(item) } }
        }
    }
}

enum BatcherError: Error {
    /// The batch's operation answered a different number of results than it was given inputs.
    case resultsMiscounted
}
