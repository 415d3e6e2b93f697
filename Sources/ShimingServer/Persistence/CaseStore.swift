import Fluent
import Foundation
import ShimingCore

/// Where a case row changes, inside the caller's transaction. Every change moves `version` on
/// (a writer holding an older version gets `case_changed`), and every change of state goes
/// through `CaseMachine` and leaves a history row.
enum CaseStore {
    /// Saves a changed case as its next version.
    static func save(_ record: CaseRecord, at now: Date, on tx: any Database) async throws {
        record.version += 1
        record.updatedAt = now
        try await record.save(on: tx)
    }

    /// Moves the case by one action (refused with 409 when the machine does not allow it) and
    /// writes the history row numbered `seq`, which then counts on. The caller saves.
    static func move(_ action: CaseAction, _ record: CaseRecord, actor: AuditActor, rule: String?, at now: Date, seq: inout Int,
                     on tx: any Database) async throws {
        let from = CaseState(rawValue: record.state) ?? .draft
        let to: CaseState
        do { to = try CaseMachine.next(from, on: action) } catch { throw CaseService.transitionError(error) }
        record.state = to.rawValue
        try await CaseService.writeTransition(record, action: action.name, from: from, to: to, actor: actor, rule: rule, at: now, seq: seq, on: tx)
        seq += 1
    }

    /// One action on its own: the move, its history row and the saved next version.
    static func apply(_ action: CaseAction, to record: CaseRecord, actor: AuditActor, rule: String?, at now: Date, on tx: any Database) async throws {
        var seq = try await CaseService.nextSeq(try record.requireID(), on: tx)
        try await move(action, record, actor: actor, rule: rule, at: now, seq: &seq, on: tx)
        try await save(record, at: now, on: tx)
    }
}
