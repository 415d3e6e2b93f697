import Fluent
import Foundation
import ShimingCore
import SQLKit

struct CreateRosters: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(RosterImportRecord.schema)
            .id()
            .field("state", .string, .required)
            .field("rows", .int, .required)
            .field("imported", .int, .required)
            .field("rejected", .int, .required)
            .field("actor", .string, .required)
            .field("started_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
        try await database.schema(RosterEntryRecord.schema)
            .id()
            .field("import_id", .uuid, .required)
            .field("school_key", .string, .required)
            .field("number_index", .string, .required)
            .field("data_sealed", .string, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX roster_entries_number ON roster_entries (number_index)",
            "CREATE INDEX roster_entries_school ON roster_entries (school_key, import_id)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RosterEntryRecord.schema).delete()
        try await database.schema(RosterImportRecord.schema).delete()
    }
}
