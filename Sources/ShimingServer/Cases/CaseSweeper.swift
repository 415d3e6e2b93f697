import NIOConcurrencyHelpers
import Vapor

/// Runs `CaseService.sweep` in the background of `shiming serve` once a minute: accounts whose
/// second confirmation ran out are locked, verifications past their re-verification date
/// expire. Several instances may sweep at once: each change re-checks the case's version.
final class CaseSweeper: LifecycleHandler, Sendable {
    private let task = NIOLockedValueBox<Task<Void, Never>?>(nil)
    let interval: Duration

    init(interval: Duration = .seconds(60)) {
        self.interval = interval
    }

    func start(_ application: Application) {
        let service = CaseService(application: application)
        let logger = Logger(label: "shiming.sweeper")
        let interval = self.interval
        let started = Task.detached {
            while !Task.isCancelled {
                do {
                    let result = try await service.sweep()
                    if result.locked + result.expired > 0 {
                        logger.notice("Sweep: \(result.locked) accounts locked (confirmation not entered), \(result.expired) verifications expired")
                    }
                } catch {
                    logger.error("Sweep failed: \(String(reflecting: error))")
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
        guard let running else { return }
        running.cancel()
        await running.value
    }
}
