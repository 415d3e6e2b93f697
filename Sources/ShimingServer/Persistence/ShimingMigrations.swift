import Fluent

/// Every migration, in order (`Migrations/NNNN_Name.swift`, one per file, numbered in this
/// order). Later capabilities append; a migration never changes once released (SQLite cannot
/// alter column types, so changes are new migrations), and a renamed one keeps its recorded
/// `name`.
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
        AddReviewAssignment(),
        CreateExceptions(),
        AttributeMachineSteps(),
        CreateRosterClasses(),
        CreatePlatforms(),
        CreateLimitWindows(),
        GuardAuditTruncate(),
        AddStoredFileSealing(),
        AddOutboxAccount(),
        CreateConsentAcceptances(),
        AddCaseShredding(),
        AddAccountDeletion(),
        CreateDataExports(),
        CreateRosterLines(),
        IndexStaffAccounts(),
        IndexCasesByAccountState(),
        IndexFilesByOwner(),
        IndexFirstSubmissions(),
        LockAuditChainInOneStatement(),
        CheckExpectedOutcomes(),
        IndexAccountErasure(),
    ]
}
