import Crypto
import Fluent
import Foundation
import NIOPosix
import ShimingCore

struct CreateStoredFiles: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(StoredFileRecord.schema)
            .id()
            .field("owner_id", .uuid, .required)
            .field("purpose", .string, .required)
            .field("parent_id", .uuid, .required)
            .field("kind", .string)
            .field("content_type", .string, .required)
            .field("size", .int, .required)
            .field("width", .int)
            .field("height", .int)
            .field("key_id", .string, .required)
            .field("created_at", .datetime, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX stored_files_parent ON stored_files (parent_id, purpose)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(StoredFileRecord.schema).delete()
    }
}
