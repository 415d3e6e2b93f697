/// Where a review task stands: waiting for a person, decided, or withdrawn because the
/// applicant changed the case (or it left review another way).
public enum ReviewTaskState: String, Sendable, CaseIterable, Codable {
    case open
    case done
    case cancelled
}

/// Where a risk alert stands: raised, seen by a supervisor, or dealt with (with a note).
public enum RiskAlertState: String, Sendable, CaseIterable, Codable {
    case open
    case acknowledged
    case resolved

    /// The states a supervisor still has to deal with.
    public static let active: [RiskAlertState] = [.open, .acknowledged]
}

/// Where a piece of feedback stands: unread, read by staff, or answered (the answer went to
/// the sender).
public enum FeedbackState: String, Sendable, CaseIterable, Codable {
    case new
    case read
    case answered
}
