import Foundation
import ShimingCore

/// What entering a state obliges (`CaseEffect`, decided by `CaseMachine.transition`), done in
/// the caller's transaction: one place instead of each call site choosing.
extension CaseService {
    /// What the effects need to know about the case at hand (the application and the program
    /// are read from the case when not given).
    struct EffectInputs: Sendable {
        var application: CaseApplication? = nil
        var applicant: Account
        var program: Program? = nil
        /// Why a review task opens (the rule that sent the case to review, `staff.unfreeze`, `appeal.freeze`, …).
        var reason: String
        /// Who may not take the task (the staff member an appeal contests).
        var excluded: UUID? = nil
    }

    /// Does what `effects` oblige; answers the review task opened, if one was.
    @discardableResult
    func perform(_ effects: [CaseEffect], on record: inout StoredCase, _ inputs: EffectInputs, at now: Date, in tx: Store) async throws -> UUID? {
        var opened: UUID?
        for effect in effects {
            switch effect {
            case .cancelReviewTasks:
                try await tx.reviewTasks.cancelOpen(caseID: record.id, at: now)
            case .openReviewTask(let kind):
                opened = try await ReviewTasks.open(for: record, application: try inputs.application ?? application(of: record),
                                                    applicant: inputs.applicant, program: try inputs.program ?? program(record.program),
                                                    kind: kind, reason: inputs.reason, excluded: inputs.excluded, at: now, in: tx)
            case .sendConfirmation:
                let minutes = try (inputs.program ?? program(record.program)).confirmation?.minutes ?? 30
                try await sendConfirmation(&record, minutes: minutes, account: inputs.applicant, at: now, in: tx)
            }
        }
        return opened
    }
}
