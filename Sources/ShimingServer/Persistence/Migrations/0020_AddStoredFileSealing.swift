import Fluent
import Foundation

/// How each stored file is sealed (`FileSealing`): uploads are now sealed as a stream while
/// they arrive; the files stored before keep one box over the whole file (no value: `whole`).
struct AddStoredFileSealing: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(StoredFileRecord.schema).field("sealing", .string).update()
    }

    func revert(on database: any Database) async throws {
        try await database.schema(StoredFileRecord.schema).deleteField("sealing").update()
    }
}
