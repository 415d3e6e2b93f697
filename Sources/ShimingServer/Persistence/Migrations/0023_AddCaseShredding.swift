import Fluent
import Foundation

/// When the retention sweep shredded an application (its personal data gone, the fact kept).
struct AddCaseShredding: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(CaseRecord.schema).field("shredded_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(CaseRecord.schema).deleteField("shredded_at").update()
    }
}
