/// The life of an account. Every request checks it: only `active` accounts (and
/// `pending_activation` ones, with limited rights) may act.
public enum AccountStatus: String, Sendable, Codable, CaseIterable {
    /// Registered; a contact is not confirmed yet (or the e-mail link not followed).
    case pendingActivation = "pending_activation"
    /// In use.
    case active
    /// Locked by the system (e.g. a second confirmation not entered in time); an admin or a
    /// reset unlocks it.
    case locked
    /// Frozen by staff with a reason; the holder may appeal.
    case frozen
    /// Closed at the holder's request or by staff; nothing can be done with it.
    case closed

    /// Whether the account may sign in at all. A frozen holder signs in to read the reason
    /// and appeal; everything else answers 403 `account_frozen`.
    public var maySignIn: Bool {
        switch self {
        case .pendingActivation, .active, .frozen: true
        case .locked, .closed: false
        }
    }
}

/// The staff roles. Applicants have no role.
public enum StaffRole: String, Sendable, Codable, CaseIterable, Comparable {
    /// Decides cases from the review pool.
    case reviewer
    /// Homeroom teacher: decides the cases of one school class.
    case teacher
    /// Oversees reviewers: escalations, four-eyes approvals, risk alerts.
    case supervisor
    /// Runs the deployment: staff, programs, rosters, platforms.
    case admin
    /// Reads everything, changes nothing: audit trail and records.
    case auditor

    public static func < (a: StaffRole, b: StaffRole) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Seniority: who may freeze or decide about whom (nobody about a higher role).
    public var rank: Int {
        switch self {
        case .reviewer, .teacher, .auditor: 1
        case .supervisor: 2
        case .admin: 3
        }
    }

    /// The highest rank among roles (0 for none: an applicant).
    public static func rank(of roles: Set<StaffRole>) -> Int { roles.map(\.rank).max() ?? 0 }
}

/// A teacher's scope: one class of one school.
public struct ClassScope: Sendable, Hashable, Codable {
    public var school: String
    public var grade: String
    public var className: String

    /// Creates a scope.
    public init(school: String, grade: String, className: String) {
        self.school = school
        self.grade = grade
        self.className = className
    }
}
