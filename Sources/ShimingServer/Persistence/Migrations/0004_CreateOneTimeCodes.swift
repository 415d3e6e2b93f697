import Fluent
import Foundation

struct CreateOneTimeCodes: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(OneTimeCodeRecord.schema)
            .id()
            .field("channel", .string, .required)
            .field("destination_index", .string, .required)
            .field("purpose", .string, .required)
            .field("code_hash", .string, .required)
            .field("account_id", .uuid)
            .field("expires_at", .datetime, .required)
            .field("attempts", .int, .required)
            .field("consumed_at", .datetime)
            .field("created_at", .datetime, .required)
            .field("ip", .string)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX codes_destination ON one_time_codes (destination_index, created_at)",
            "CREATE INDEX codes_ip ON one_time_codes (ip, created_at)",
            "CREATE INDEX codes_hash ON one_time_codes (code_hash)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(OneTimeCodeRecord.schema).delete()
    }
}
