import Fluent

/// Every upload checks the account's storage allowance by adding up its files' sizes, inside
/// the write (`storedBytes(of:)`). Without an index on the owner, that read every file row of
/// every account, on both engines.
struct IndexFilesByOwner: PortableStatementsMigration {
    let forward = ["CREATE INDEX stored_files_owner ON stored_files (owner_id)"]
    let backward = ["DROP INDEX stored_files_owner"]
}
