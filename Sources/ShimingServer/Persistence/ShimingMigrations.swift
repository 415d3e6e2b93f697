import Fluent

/// Every migration, in order. Later capabilities append; a migration never changes once
/// released (SQLite cannot alter column types, so changes are new migrations).
enum ShimingMigrations {
    static let all: [any Migration] = [
        CreateAuditEvents(),
        CreateOutboxMessages(),
        CreateAccounts(),
        CreateOneTimeCodes(),
        CreateSessions(),
        CreateSignInThrottles(),
        CreateStoredFiles(),
        CreateChangeRequests(),
        CreateCases(),
        CreateReviewTasks(),
        CreateRosters(),
        AddCaseReminders(),
        CreateBackOffice(),
        CreateExceptions(),
        AttributeMachineSteps(),
        CreateRosterClasses(),
    ]
}
