import Fluent
import Foundation

/// A person's deletion request (erased when `deletion_due_at` passes, unless they sign in before)
/// and when the account was erased.
struct AddAccountDeletion: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AccountRecord.schema).field("deletion_due_at", .datetime).update()
        try await database.schema(AccountRecord.schema).field("erased_at", .datetime).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(AccountRecord.schema).deleteField("erased_at").update()
        try await database.schema(AccountRecord.schema).deleteField("deletion_due_at").update()
    }
}
