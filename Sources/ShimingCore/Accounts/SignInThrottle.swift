import Foundation

/// Brute-force protection for sign-in: five failures within fifteen minutes lock sign-in for
/// fifteen minutes; each further lock within a day doubles the lock (15, 30, 60 … at most 24 h).
/// The same rule applies per account and per IP address. A correct password during a lock is
/// still refused, so guessing cannot continue through the lock.
public struct SignInThrottle: Sendable {
    /// Failures that trigger a lock.
    public var maxFailures = 5
    /// The window in which failures count.
    public var window: TimeInterval = 15 * 60
    /// The first lock's length.
    public var baseLock: TimeInterval = 15 * 60
    /// Locks longer than this are not made.
    public var maximumLock: TimeInterval = 24 * 3600

    /// The default rule, or another number of failures before a lock.
    public init(maxFailures: Int = 5) {
        self.maxFailures = maxFailures
    }

    /// The state of one key (an account or an IP address).
    public struct State: Sendable, Equatable, Codable {
        /// Failure times inside the current window, oldest first.
        public var failures: [Date] = []
        /// When the current lock ends, if locked.
        public var lockedUntil: Date?
        /// Locks in the last 24 hours (for growth).
        public var recentLocks: [Date] = []

        public init() {}
    }

    /// Whether sign-in is locked at `now`, and until when.
    public func lockEnd(_ state: State, now: Date) -> Date? {
        guard let until = state.lockedUntil, until > now else { return nil }
        return until
    }

    /// Records a failed attempt; returns the new state (locked when the limit is reached).
    public func recordFailure(_ state: State, now: Date) -> State {
        var state = state
        state.failures = state.failures.filter { now.timeIntervalSince($0) < window } + [now]
        state.recentLocks = state.recentLocks.filter { now.timeIntervalSince($0) < 24 * 3600 }
        if state.failures.count >= maxFailures {
            let length = min(baseLock * pow(2, Double(state.recentLocks.count)), maximumLock)
            state.lockedUntil = now.addingTimeInterval(length)
            state.recentLocks.append(now)
            state.failures = []
        }
        return state
    }

    /// A successful sign-in clears the failures (not the lock history). An attempt is counted
    /// as a failure before its password is checked (so parallel guesses cannot outrun the
    /// count); when that attempt turns out right, a lock it made at `attempt` is not history.
    public func recordSuccess(_ state: State, attempt: Date? = nil) -> State {
        var state = state
        state.failures = []
        state.lockedUntil = nil
        if let attempt { state.recentLocks.removeAll { $0 == attempt } }
        return state
    }

    /// Takes back the failure counted for an attempt that turned out right, where one right
    /// attempt must not clear the others' failures (an address many people share).
    public func undoFailure(_ state: State, attempt: Date) -> State {
        var state = state
        if let index = state.failures.lastIndex(of: attempt) { state.failures.remove(at: index) }
        return state
    }
}

/// The per-account rule of NIST SP 800-63B §5.2.2 as Shiming applies it: failures against one
/// account (from anywhere) never lock it — that would let anyone lock anyone out — but past the
/// first few each further attempt must wait longer (1 s, 2 s, 4 s … at most 5 minutes). A device
/// the owner signed in from before is not slowed at all.
public struct SignInSlowdown: Sendable {
    /// Failures in the window that cost nothing.
    public var freeFailures = 5
    /// The window in which failures count.
    public var window: TimeInterval = 3600
    /// The longest wait between two attempts.
    public var maximumDelay: TimeInterval = 300

    public init() {}

    /// How long the next attempt must still wait at `now`, or nil when it may go ahead.
    public func wait(_ state: SignInThrottle.State, now: Date) -> TimeInterval? {
        let recent = state.failures.filter { now.timeIntervalSince($0) < window }
        guard recent.count >= freeFailures, let last = recent.last else { return nil }
        let delay = min(pow(2, Double(recent.count - freeFailures)), maximumDelay)
        let remaining = last.addingTimeInterval(delay).timeIntervalSince(now)
        return remaining > 0 ? remaining : nil
    }

    /// Counts one failure.
    public func recordFailure(_ state: SignInThrottle.State, now: Date) -> SignInThrottle.State {
        var state = state
        state.failures = state.failures.filter { now.timeIntervalSince($0) < window } + [now]
        return state
    }
}
