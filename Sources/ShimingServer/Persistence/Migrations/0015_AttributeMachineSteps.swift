import Fluent
import Foundation
import ShimingCore

/// The history named the applicant for the machine's own steps (starting the checks and their
/// outcome); those rows now say "system", as new ones do.
struct AttributeMachineSteps: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await CaseTransitionRecord.query(on: database)
            .group(.or) { $0.filter(\.$action == CaseAction.startChecks.name)
                .filter(\.$action ~~ [CaseAction.CheckOutcome.approved, .needsReview, .returned].map { CaseAction.checked($0).name }) }
            .set(\.$actorKind, to: "system").set(\.$actorID, to: nil).update()
    }

    func revert(on database: any Database) async throws {}
}
