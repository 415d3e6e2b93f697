/// Reads that many requests make at once, batched on PostgreSQL: the ones that arrive while one
/// batch is read wait and are read together as the next, in one statement (one round trip, one
/// start of the statement's plan) instead of one each. A read alone runs at once. Each batch
/// starts after every read in it was asked for, so a read sees what was committed before it.
/// One per process (`ShimingContext.reads`), handed to every `Store`. A batch runs on the
/// database handle of the read that started it: every store outside a transaction reaches the
/// same database (the app's, through its pools), so any of them reads for all.
///
/// Up to `concurrent` batches of a kind are read at once: with one, the reads that arrive wait
/// for the whole of the batch before (its round trip, then its rows decoded), and under load the
/// machine idled about a fifth of the time; with three, alternated runs on PostgreSQL read
/// 20–55 % more cases a second (session 32, docs/benchmarks.md).
///
/// The verification query's read was batched here too until session 45; it is now read in the
/// query's write (`Store.readsQueriedGrantsInWrite`).
final class ReadBatches: Sendable {
    /// How many batches of one kind are read at once, each on a connection of its own.
    static let concurrent = 3
    /// Whole cases with their documents and history (`CaseStore.whole`).
    let cases = Batcher<CaseStore.WholeRead, CaseStore.Whole?>(largest: 64, concurrent: ReadBatches.concurrent)
}
