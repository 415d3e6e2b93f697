import Fluent
import Foundation

struct CreateSignInThrottles: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(SignInThrottleRecord.schema)
            .field("key", .string, .identifier(auto: false))
            .field("state", .string, .required)
            .field("locked_until", .datetime)
            .field("updated_at", .datetime, .required)
            .create()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(SignInThrottleRecord.schema).delete()
    }
}
