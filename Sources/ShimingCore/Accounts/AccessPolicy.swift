/// Which staff roles may do what: every role set in one table, used by the API's route
/// declarations and by the pages alike, so the two cannot disagree.
public enum AccessPolicy {
    /// Any staff member: the staff desk.
    public static let anyStaff: Set<StaffRole> = Set(StaffRole.allCases)
    /// Work the review queue, open a case for review, decide it, raise an alert about it.
    public static let reviewCases: Set<StaffRole> = [.reviewer, .teacher, .supervisor, .admin]
    /// Decide change requests for the locked fields.
    public static let decideChangeRequests: Set<StaffRole> = [.reviewer, .supervisor, .admin]
    /// Read change requests and their proofs.
    public static let readChangeRequests: Set<StaffRole> = decideChangeRequests.union([.auditor])
    /// Look accounts up (login, document number) and read them with their sign-in lock.
    public static let readAccounts: Set<StaffRole> = [.admin, .supervisor, .auditor]
    /// Supervise: unlock, freeze and unfreeze accounts; see every open task and case; approve a
    /// person rejected before (four eyes).
    public static let supervise: Set<StaffRole> = [.admin, .supervisor]
    /// Read the outbox and its failed deliveries.
    public static let readOutbox: Set<StaffRole> = [.admin, .auditor]
    /// Run the deployment: staff accounts, rolls, retrying deliveries.
    public static let administer: Set<StaffRole> = [.admin]
    /// Read risk alerts.
    public static let readAlerts: Set<StaffRole> = [.supervisor, .admin, .auditor]
    /// Acknowledge and resolve risk alerts.
    public static let handleAlerts: Set<StaffRole> = [.supervisor, .admin]
    /// Read, tag and answer feedback.
    public static let handleFeedback: Set<StaffRole> = [.reviewer, .supervisor, .admin]
    /// Read the reviewer figures.
    public static let readFigures: Set<StaffRole> = [.supervisor, .admin, .auditor]
}
