import Fluent
import Vapor

/// Where `Features` gets a database handle for each operation (a fresh one per call, so that
/// work spreads over the event loops' connection pools as it does for a request's own `req.db`);
/// services see it only wrapped in a `Store`.
typealias DatabaseProvider = @Sendable () -> any Database

/// The feature services, built once in `configure` and handed to the controllers, the
/// middleware, the workers and the commands that use them. Nothing builds a service from the
/// application anywhere else.
struct Features: Sendable {
    let accounts: AccountService
    let cases: CaseService
    let review: ReviewService
    let freezes: FreezeService
    let changeRequests: ChangeRequestService
    let alerts: RiskAlertService
    let feedback: FeedbackService
    let admin: AdminService
    let platforms: PlatformService
    let sessions: VerificationSessionService
    let grants: GrantService
    let accessLog: AccessLogService
    let exports: DataExportService
    let consents: ConsentService
    let retention: RetentionService
    let deletion: DeletionService
    let keyMigration: KeyMigrationService
    let exportJobs: ExportJobService
    let keyRotation: KeyRotationService
    let reindex: ReindexService

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        let stores: StoreProvider = { Store(database(), context: context) }
        accounts = AccountService(context: context, stores: stores)
        cases = CaseService(context: context, stores: stores)
        review = ReviewService(cases: cases)
        freezes = FreezeService(cases: cases)
        changeRequests = ChangeRequestService(context: context, stores: stores)
        alerts = RiskAlertService(context: context, stores: stores)
        feedback = FeedbackService(context: context, stores: stores)
        admin = AdminService(context: context, stores: stores, accounts: accounts)
        platforms = PlatformService(context: context, stores: stores)
        sessions = VerificationSessionService(context: context, stores: stores, cases: cases)
        grants = GrantService(context: context, stores: stores, cases: cases)
        accessLog = AccessLogService(context: context, stores: stores)
        consents = ConsentService(context: context, stores: stores)
        retention = RetentionService(context: context, stores: stores)
        deletion = DeletionService(context: context, stores: stores, accounts: accounts, cases: cases)
        keyMigration = KeyMigrationService(context: context, stores: stores)
        keyRotation = KeyRotationService(context: context, stores: stores, migration: keyMigration)
        reindex = ReindexService(context: context, stores: stores)
        exports = DataExportService(context: context, stores: stores, cases: cases, changeRequests: changeRequests, grants: grants,
                                    feedback: feedback, accessLog: accessLog)
        exportJobs = ExportJobService(context: context, stores: stores, exports: exports)
    }
}

extension Application {
    private struct FeaturesKey: StorageKey {
        typealias Value = Features
    }

    /// The services built in `configure` (for the commands and workers that run outside a
    /// controller; controllers receive them through `init`).
    var features: Features {
        get {
            guard let features = storage[FeaturesKey.self] else {
                fatalError("configure(_:configuration:services:) has not been called on this application")
            }
            return features
        }
        set { storage[FeaturesKey.self] = newValue }
    }
}
