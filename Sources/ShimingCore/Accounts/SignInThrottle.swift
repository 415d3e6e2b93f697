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

    /// The default rule.
    public init() {}

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

    /// A successful sign-in clears the failures (not the lock history).
    public func recordSuccess(_ state: State) -> State {
        var state = state
        state.failures = []
        state.lockedUntil = nil
        return state
    }
}
