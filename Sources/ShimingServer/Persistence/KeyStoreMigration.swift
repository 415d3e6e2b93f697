import Fluent
import Foundation

/// The key store's one table: the accounts' own data keys, each wrapped by a master key version
/// (`master_key_id`). Not among the numbered migrations: it runs on the key store
/// (`DatabaseID.keys`). On SQLite that is a file of its own (`keys.sqlite` in the data dir), so
/// a copy of the database holds no key; on PostgreSQL it is the table `account_keys`, which
/// data backups leave out (docs/privacy.md).
struct CreateAccountKeys: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema("account_keys")
            .field("account_id", .uuid, .identifier(auto: false))
            .field("wrapped", .string, .required)
            .field("master_key_id", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX account_keys_master ON account_keys (master_key_id)"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema("account_keys").delete()
    }
}
