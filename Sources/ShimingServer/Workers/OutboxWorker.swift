import Fluent
import NIOConcurrencyHelpers
import ShimingCore
import Vapor

/// A background loop of `shiming serve`: runs `round` every interval until the application
/// shuts down (a failed round is logged and the loop goes on).
final class PeriodicWorker: LifecycleHandler, Sendable {
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let name: String
    let interval: Duration
    let round: @Sendable () async throws -> Void
    /// Run once at shutdown, after the loop stopped.
    let final: (@Sendable () async throws -> Void)?

    init(name: String, interval: Duration, final: (@Sendable () async throws -> Void)? = nil, round: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.final = final
        self.round = round
    }

    func start() {
        let logger = Logger(label: "shiming.\(name)")
        let (interval, round, name) = (interval, round, name)
        let started = Task.detached {
            while !Task.isCancelled {
                do {
                    try await round()
                } catch {
                    logger.error("\(name) round failed: \(String(reflecting: error))")
                }
                try? await Task.sleep(for: interval)
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdownAsync(_ application: Application) async {
        let running = task.withLockedValue { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        if let running {
            running.cancel()
            await running.value
        }
        if let final {
            do { try await final() } catch { Logger(label: "shiming.\(name)").error("\(name) at shutdown failed: \(String(reflecting: error))") }
        }
    }
}

/// Outbox delivery in the background of `shiming serve`: what is due, round after round while
/// rounds come back full, then a pause of the poll interval. Several instances may run it at
/// once: claims are exclusive. Only `serve` starts it; tests and tools deliver explicitly with
/// `Outbox.deliverDue`.
enum OutboxWorker {
    static func make(_ application: Application) -> PeriodicWorker {
        let context = application.shiming
        let outbox = Outbox(cipher: context.cipher, keys: context.accountKeys)
        let logger = Logger(label: "shiming.outbox")
        let db = application.db
        return PeriodicWorker(name: "outbox", interval: .milliseconds(Int(context.configuration.outboxPollInterval * 1000))) {
            let clock = context.services.clock
            _ = try await outbox.deliverAllDue(sink: context.messageSink, now: { clock.now() }, on: db, gate: context.writeGate, logger: logger)
        }
    }
}
