import Fluent

/// The erasure sweep runs every minute on every instance and asks twice about accounts: whose
/// deletion is due (`ErasureStore.due`) and who was erased in the past week, whose keys it
/// destroys (`ErasureStore.erased`). Without an index both read every account row: on
/// PostgreSQL 6–9 ms each for the 7,800 accounts of the benchmark's submission row (as
/// auto_explain timed them, its own timing included), growing with every account registered.
/// Almost no account has either date, so each index holds only those that do (a partial index,
/// which both engines have), and finding none costs one index page.
struct IndexAccountErasure: PortableStatementsMigration {
    let forward = [
        "CREATE INDEX accounts_deletion_due ON accounts (deletion_due_at) WHERE deletion_due_at IS NOT NULL AND erased_at IS NULL",
        "CREATE INDEX accounts_erased ON accounts (erased_at) WHERE erased_at IS NOT NULL",
    ]
    let backward = [
        "DROP INDEX accounts_erased",
        "DROP INDEX accounts_deletion_due",
    ]
}
