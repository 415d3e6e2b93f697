import Fluent
import Foundation
import IdentityRules
import ShimingCore

struct CreateReviewTasks: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(ReviewTaskRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("program", .string, .required)
            .field("state", .string, .required)
            .field("routing", .string, .required)
            .field("scope_school", .string)
            .field("scope_grade", .string)
            .field("scope_class", .string)
            .field("reason", .string, .required)
            .field("due_at", .datetime, .required)
            .field("assignee_id", .uuid)
            .field("outcome", .string)
            .field("decided_by", .uuid)
            .field("created_at", .datetime, .required)
            .field("closed_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX review_tasks_open ON review_tasks (state, due_at)",
            "CREATE INDEX review_tasks_case ON review_tasks (case_id, state)",
            "CREATE INDEX review_tasks_scope ON review_tasks (scope_school, scope_grade, scope_class, state)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(ReviewTaskRecord.schema).delete()
    }
}
