import Vapor

/// `CaseService.sweep` in the background of `shiming serve`, once a minute: accounts whose
/// second confirmation ran out are locked, holders are reminded before their
/// verification runs out, verifications past their re-verification date
/// expire. Several instances may sweep at once: each change re-checks the case's version.
enum CaseSweeper {
    static func make(_ application: Application) -> PeriodicWorker {
        let service = CaseService(application: application)
        let logger = Logger(label: "shiming.sweeper")
        return PeriodicWorker(name: "sweeper", interval: .seconds(60)) {
            let result = try await service.sweep()
            if result.total > 0 {
                logger.notice("Sweep: \(result.locked) accounts locked (confirmation not entered), \(result.reminded) holders reminded to renew, \(result.expired) verifications expired")
            }
        }
    }
}
