import Fluent
import Foundation

/// Freezes, appeals, risk alerts and feedback (issue 6, exceptions).
struct CreateExceptions: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(AccountFreezeRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("frozen_by", .uuid, .required)
            .field("reason_sealed", .string, .required)
            .field("cases", .string, .required)
            .field("frozen_at", .datetime, .required)
            .field("lifted_by", .uuid)
            .field("lifted_at", .datetime)
            .field("lifted_how", .string)
            .field("lifted_note_sealed", .string)
            .field("prior_status", .string, .required)
            .field("prior_status_reason", .string)
            .create()
        try await database.schema(CaseAppealRecord.schema)
            .id()
            .field("case_id", .uuid, .required, .references(CaseRecord.schema, "id"))
            .field("account_id", .uuid, .required)
            .field("contests", .string, .required)
            .field("contested_by", .uuid)
            .field("freeze_id", .uuid)
            .field("reason_sealed", .string, .required)
            .field("task_id", .uuid, .required)
            .field("created_at", .datetime, .required)
            .field("outcome", .string)
            .field("decided_by", .uuid)
            .field("decided_at", .datetime)
            .create()
        try await database.schema(RiskAlertRecord.schema)
            .id()
            .field("kind", .string, .required)
            .field("subject", .string, .required)
            .field("program", .string)
            .field("details", .string, .required)
            .field("note_sealed", .string)
            .field("raised_by", .uuid)
            .field("state", .string, .required)
            .field("count", .int, .required)
            .field("created_at", .datetime, .required)
            .field("last_seen_at", .datetime, .required)
            .field("acknowledged_by", .uuid)
            .field("acknowledged_at", .datetime)
            .field("resolved_by", .uuid)
            .field("resolved_at", .datetime)
            .field("resolution_sealed", .string)
            .create()
        try await database.schema(FeedbackRecord.schema)
            .id()
            .field("account_id", .uuid, .required, .references(AccountRecord.schema, "id"))
            .field("case_id", .uuid)
            .field("page", .string)
            .field("text_sealed", .string, .required)
            .field("tags", .string, .required)
            .field("state", .string, .required)
            .field("created_at", .datetime, .required)
            .field("read_by", .uuid)
            .field("read_at", .datetime)
            .field("answer_sealed", .string)
            .field("answered_by", .uuid)
            .field("answered_at", .datetime)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX account_freezes_account ON account_freezes (account_id, lifted_at)",
            "CREATE INDEX case_appeals_case ON case_appeals (case_id)",
            "CREATE INDEX case_appeals_task ON case_appeals (task_id)",
            "CREATE INDEX risk_alerts_state ON risk_alerts (state, last_seen_at)",
            "CREATE INDEX risk_alerts_subject ON risk_alerts (kind, subject, state)",
            "CREATE INDEX feedback_state ON feedback (state, created_at)",
            "CREATE INDEX review_tasks_closed ON review_tasks (closed_at)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, portable: ["DROP INDEX review_tasks_closed"])
        for schema in [FeedbackRecord.schema, RiskAlertRecord.schema, CaseAppealRecord.schema, AccountFreezeRecord.schema] {
            try await database.schema(schema).delete()
        }
    }
}
