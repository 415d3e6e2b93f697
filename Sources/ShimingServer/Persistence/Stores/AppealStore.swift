import Fluent
import Foundation
import ShimingCore

extension Store {
    /// Freezes of accounts and appeals against freezes and rejections.
    var appeals: AppealStore { AppealStore(db: database, cipher: cipher, keys: keys) }
}

/// An account freeze: who froze it and why (sealed), the cases it froze and where each stood,
/// and how it ended.
struct AccountFreeze: Sendable {
    struct FrozenCase: Codable, Sendable {
        var `case`: UUID
        var state: CaseState
    }

    var id: UUID
    var accountID: UUID
    var frozenBy: UUID
    var reason: String
    var cases: [FrozenCase]
    var frozenAt: Date
    var priorStatus: AccountStatus
    var priorStatusReason: String?
}

/// An applicant's appeal against a freeze or a rejection; the reason opened.
struct CaseAppeal: Sendable {
    var id: UUID
    var caseID: UUID
    var accountID: UUID
    /// `freeze` or `rejection`.
    var contests: String
    var contestedBy: UUID?
    var freezeID: UUID?
    var reason: String
    var taskID: UUID
    var createdAt: Date
    /// `upheld`, `dismissed` or `withdrawn`, once decided.
    var outcome: String?
}

/// Rows of `account_freezes` and `case_appeals`; reasons and notes are sealed here.
struct AppealStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    /// Reasons and notes are sealed under the account's own key.
    let keys: AccountKeys

    // MARK: Freezes

    func insert(_ freeze: AccountFreeze) async throws {
        let record = AccountFreezeRecord()
        record.id = freeze.id
        record.accountID = freeze.accountID
        record.frozenBy = freeze.frozenBy
        record.reasonSealed = try await keys.sealing(cipher, for: freeze.accountID).seal(freeze.reason, context: AccountFreezeRecord.context(freeze.accountID))
        record.cases = try StoredJSON.text(freeze.cases)
        record.frozenAt = freeze.frozenAt
        record.priorStatus = freeze.priorStatus.rawValue
        record.priorStatusReason = freeze.priorStatusReason
        try await record.create(on: db)
    }

    /// The freeze of an account that has not been lifted.
    func liveFreeze(of accountID: UUID) async throws -> AccountFreeze? {
        guard let record = try await AccountFreezeRecord.query(on: db).filter(\.$accountID == accountID).filter(\.$liftedAt == nil)
            .sort(\.$frozenAt, .descending).first() else { return nil }
        try await keys.load([accountID])
        return AccountFreeze(
            id: try record.requireID(), accountID: record.accountID, frozenBy: record.frozenBy,
            reason: try cipher.open(record.reasonSealed, context: AccountFreezeRecord.context(record.accountID)),
            cases: try JSONDecoder().decode([AccountFreeze.FrozenCase].self, from: Data(record.cases.utf8)), frozenAt: record.frozenAt,
            priorStatus: AccountStatus(rawValue: record.priorStatus) ?? .active, priorStatusReason: record.priorStatusReason
        )
    }

    /// Ends a freeze: how, by whom (staff) and with what note (sealed).
    func lift(_ freeze: AccountFreeze, how: String, by staff: UUID?, note: String?, at now: Date) async throws {
        guard let record = try await AccountFreezeRecord.find(freeze.id, on: db) else { throw CommonErrors.notFound }
        record.liftedAt = now
        record.liftedHow = how
        record.liftedBy = staff
        if let note { record.liftedNoteSealed = try await keys.sealing(cipher, for: freeze.accountID).seal(note, context: AccountFreezeRecord.context(freeze.accountID)) }
        try await record.save(on: db)
    }

    // MARK: Appeals

    func hasAppeal(caseID: UUID) async throws -> Bool {
        try await CaseAppealRecord.query(on: db).filter(\.$caseID == caseID).first() != nil
    }

    func insert(_ appeal: CaseAppeal) async throws {
        let record = CaseAppealRecord()
        record.id = appeal.id
        record.caseID = appeal.caseID
        record.accountID = appeal.accountID
        record.contests = appeal.contests
        record.contestedBy = appeal.contestedBy
        record.freezeID = appeal.freezeID
        record.reasonSealed = try await keys.sealing(cipher, for: appeal.accountID).seal(appeal.reason, context: CaseAppealRecord.context(appeal.caseID))
        record.taskID = appeal.taskID
        record.createdAt = appeal.createdAt
        try await record.create(on: db)
    }

    /// The appeal a task decides.
    func appeal(forTask taskID: UUID) async throws -> CaseAppeal? {
        guard let record = try await CaseAppealRecord.query(on: db).filter(\.$taskID == taskID).first() else { return nil }
        try await keys.load([record.accountID])
        return CaseAppeal(
            id: try record.requireID(), caseID: record.caseID, accountID: record.accountID, contests: record.contests,
            contestedBy: record.contestedBy, freezeID: record.freezeID,
            reason: try cipher.open(record.reasonSealed, context: CaseAppealRecord.context(record.caseID)), taskID: record.taskID,
            createdAt: record.createdAt, outcome: record.outcome
        )
    }

    /// Records an appeal's outcome.
    func decide(_ id: UUID, outcome: String, by staff: UUID?, at now: Date) async throws {
        try await CaseAppealRecord.query(on: db).filter(\.$id == id).set(\.$outcome, to: outcome).set(\.$decidedBy, to: staff)
            .set(\.$decidedAt, to: now).update()
    }

    /// Withdraws a case's undecided appeals (the freeze they contest is gone).
    func withdrawOpen(caseID: UUID, at now: Date) async throws {
        try await CaseAppealRecord.query(on: db).filter(\.$caseID == caseID).filter(\.$outcome == nil)
            .set(\.$outcome, to: "withdrawn").set(\.$decidedAt, to: now).update()
    }
}
