import NIOConcurrencyHelpers
import Vapor

/// `CaseService.sweep` and `ReviewService.sweep` in the background of `shiming serve`, once a
/// minute (`SHIMING_SWEEP_SECONDS`): accounts whose second confirmation ran out are locked,
/// holders are reminded before their verification runs out, verifications past their date
/// expire, idle review claims return to the queue, overdue tasks are escalated, and sign-in and
/// code counters past their windows are removed, large accounts' data exports are prepared (and
/// removed after 24 hours), accounts whose deletion is due are erased, personal data still under
/// the master key moves to its owner's key and what lies under an older master key version to
/// the current one (a batch a round until none is left); once a day, the retention sweep.
/// Several instances may sweep at once: each change is conditional on what it read.
enum CaseSweeper {
    static func make(_ application: Application) -> PeriodicWorker {
        let service = application.features.cases
        let review = application.features.review
        let accounts = application.features.accounts
        let retention = application.features.retention
        let deletion = application.features.deletion
        let keyMigration = application.features.keyMigration
        let keyRotation = application.features.keyRotation
        let exportJobs = application.features.exportJobs
        // Nothing personal is ever sealed under the master key again once moved, nor under an
        // older version once re-sealed: after one empty batch this process stops looking (until
        // the key file lists other versions).
        let migrated = NIOLockedValueBox(false)
        let rotatedTo = NIOLockedValueBox<[String]>([])
        let logger = Logger(label: "shiming.sweeper")
        return PeriodicWorker(name: "sweeper", interval: .seconds(application.shiming.configuration.sweepSeconds)) {
            let result = try await service.sweep()
            if result.total > 0 {
                logger.notice("Sweep: \(result.locked) accounts locked (confirmation not entered), \(result.reminded) holders reminded to renew, \(result.expired) verifications expired")
            }
            let pruned = try await accounts.pruneCounters()
            if pruned > 0 { logger.notice("Sweep: \(pruned) sign-in and code counters past their windows removed") }
            // Once a day across all instances: the first sweep to take the day's turn runs it.
            if try await retention.takeDailyTurn() {
                let removed = try await retention.sweep()
                logger.notice("Retention: \(removed.files.count) document files of \(removed.documentCases.count) applications deleted, \(removed.shredded.count) applications shredded")
            }
            let built = try await exportJobs.buildDue()
            let expired = try await exportJobs.expireDue()
            if built + expired > 0 { logger.notice("Exports: \(built) prepared, \(expired) removed after their 24 hours") }
            let erased = try await deletion.eraseDue()
            if erased > 0 { logger.notice("Sweep: \(erased) accounts erased at the end of their deletion grace period") }
            if !migrated.withLockedValue({ $0 }) {
                let step = try await keyMigration.step(limit: 500)
                if step.isEmpty { migrated.withLockedValue { $0 = true } }
                else { logger.notice("Keys: \(step.moved) values and \(step.files) files moved to their owners' own keys") }
            }
            let versions = application.shiming.masterKeys.all.map(\.keyID)
            if keyRotation.hasOlderVersions, rotatedTo.withLockedValue({ $0 }) != versions {
                let step = try await keyRotation.step(limit: 500)
                if step.isEmpty { rotatedTo.withLockedValue { $0 = versions } }
                else { logger.notice("Keys: \(step.rewrapped) account keys re-wrapped and \(step.resealed) values re-sealed under the current master key") }
            }
            let tasks = try await review.sweep()
            if tasks.released + tasks.escalated > 0 {
                logger.notice("Sweep: \(tasks.released) idle review claims returned to the queue, \(tasks.escalated) overdue tasks escalated")
            }
        }
    }
}
