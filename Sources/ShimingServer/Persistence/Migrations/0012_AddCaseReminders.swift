import Fluent
import Foundation
import ShimingCore

/// The re-verification reminder: when the holder was told that the verification runs out soon.
struct AddCaseReminders: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CaseRecord.schema).field("reminded_at", .datetime).update()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX cases_expiry ON cases (state, expires_at)"])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX cases_expiry"])
        try await database.schema(CaseRecord.schema).deleteField("reminded_at").update()
    }
}
