import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Review assignment: claims, escalation and appeals on tasks, reviewers on duty (a column of
/// `accounts`), and the contact log of a case.
struct AddReviewAssignment: AsyncMigration {
    /// The name it was first released under (`CreateBackOffice`), which databases have recorded.
    var name: String { "ShimingServer.CreateBackOffice" }

    func prepare(on database: any Database) async throws {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for (name, type) in [("kind", DatabaseSchema.DataType.string), ("claimed_at", .datetime), ("escalated_at", .datetime), ("excluded_id", .uuid)] {
            try await database.schema(ReviewTaskRecord.schema).field(.string(name), type).update()
        }
        try await database.schema(AccountRecord.schema).field("on_duty_since", .datetime).update()
        try await database.schema(CaseContactRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("staff_id", .uuid, .required)
            .field("channel", .string, .required)
            .field("note_sealed", .string, .required)
            .field("at", .datetime, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX review_tasks_assignee ON review_tasks (assignee_id, state)",
            "CREATE INDEX case_contacts_case ON case_contacts (case_id, at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(CaseContactRecord.schema).delete()
        try await database.schema(AccountRecord.schema).deleteField("on_duty_since").update()
        for name in ["kind", "claimed_at", "escalated_at", "excluded_id"] {
            try await database.schema(ReviewTaskRecord.schema).deleteField(.string(name)).update()
        }
    }
}
