import Fluent
import Foundation
import ShimingCore
import SQLKit

struct CreateRosterClasses: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(RosterClassRecord.schema)
            .id()
            .field("school_key", .string, .required)
            .field("school", .string, .required)
            .field("grade", .string, .required)
            .field("class", .string, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX roster_classes_school ON roster_classes (school_key)"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RosterClassRecord.schema).delete()
    }
}
