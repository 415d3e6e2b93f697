import Fluent
import NIOConcurrencyHelpers
import Vapor

/// Runs write transactions so that they cannot deadlock or lose their snapshot.
///
/// SQLite allows one writer at a time; Fluent opens one connection per event loop, and two
/// deferred transactions that both read then write can fail with `SQLITE_BUSY` instead of
/// waiting. On SQLite the gate therefore admits one write transaction at a time within the
/// process (an SQLite deployment is one process). PostgreSQL handles concurrency itself, so
/// there the gate lets everything through and code relies on row locks and constraints.
public final class WriteGate: Sendable {
    private let serial: AsyncSerialLock?

    /// Creates a gate; `serialises` is true for SQLite.
    public init(serialises: Bool) {
        serial = serialises ? AsyncSerialLock() : nil
    }

    /// Runs `body` admitted through the gate, without opening a transaction (for bulk writers
    /// that manage their own, e.g. the roster import on one SQLite connection).
    public func exclusive<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let serial else { return try await body() }
        return try await serial.run(body)
    }

    /// Runs `body` inside a database transaction, admitted through the gate.
    @discardableResult
    public func transaction<T: Sendable>(
        on db: any Database,
        _ body: @escaping @Sendable (any Database) async throws -> T
    ) async throws -> T {
        guard let serial else {
            return try await db.transaction { try await body($0) }
        }
        return try await serial.run {
            try await db.transaction { try await body($0) }
        }
    }
}

/// A first-come, first-served asynchronous mutex.
final class AsyncSerialLock: Sendable {
    private let state = NIOLockedValueBox(State())

    private struct State {
        var held = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLockedValue { state -> Bool in
                if state.held {
                    state.waiters.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()  // ownership passes straight to the next waiter
    }
}
