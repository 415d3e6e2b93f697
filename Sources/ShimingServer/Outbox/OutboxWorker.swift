import Fluent
import NIOConcurrencyHelpers
import Vapor

/// Runs outbox delivery in the background of `shiming serve`, every poll interval, until the
/// application shuts down. Several instances may run it at once: claims are exclusive.
/// Only `serve` starts it; tests and tools deliver explicitly with `Outbox.deliverDue`.
final class OutboxWorker: LifecycleHandler, Sendable {
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)

    func start(_ application: Application) {
        let context = application.shiming
        let outbox = Outbox(cipher: context.cipher)
        let logger = Logger(label: "shiming.outbox")
        let interval = context.configuration.outboxPollInterval
        let db = application.db
        let started = Task.detached {
            while !Task.isCancelled {
                do {
                    _ = try await outbox.deliverDue(
                        sink: context.messageSink, now: context.services.clock.now(), on: db, logger: logger
                    )
                } catch {
                    logger.error("Outbox delivery round failed: \(String(reflecting: error))")
                }
                try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
        task.withLockedValue { $0 = started }
    }

    func shutdownAsync(_ application: Application) async {
        let running = task.withLockedValue { task -> Task<Void, Never>? in
            defer { task = nil }
            return task
        }
        guard let running else { return }
        running.cancel()
        await running.value
    }
}
