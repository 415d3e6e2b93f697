import Fluent

/// Every upload checks the account's storage allowance by adding up its files' sizes, inside
/// the write (`storedBytes(of:)`). Without an index on the owner, that read every file row of
/// every account, on both engines.
struct IndexFilesByOwner: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX stored_files_owner ON stored_files (owner_id)"])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX stored_files_owner"])
    }
}
