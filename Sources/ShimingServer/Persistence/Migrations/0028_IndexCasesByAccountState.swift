import Fluent

/// A person's cases in one state (their open drafts before a new one, their verifications for
/// a platform's query, "verify once", a renewal) are found by account and state together.
/// With only `cases_account (account_id, created_at)` and the indexes that start with `state`,
/// SQLite (which keeps no statistics here) chose `state`: counting one person's drafts read
/// every draft of every person, and a platform's query read every verified case. The cost grew
/// with the whole table, inside the write gate for the draft count.
struct IndexCasesByAccountState: PortableStatementsMigration {
    let forward = ["CREATE INDEX cases_account_state ON cases (account_id, state)"]
    let backward = ["DROP INDEX cases_account_state"]
}
