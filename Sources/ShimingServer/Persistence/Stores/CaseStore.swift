import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Cases, their history and identity codes.
    var cases: CaseStore { CaseStore(db: database, keys: keys) }
}

/// Rows of `cases` ⇄ `StoredCase`, with the history rows of `case_transitions` and the identity
/// codes. Every change moves `version` on in the statement that checks it (a writer holding an
/// older version gets `case_changed`, even when two instances write at once), and every change
/// of state goes through `CaseMachine` and leaves a history row.
struct CaseStore: Sendable {
    let db: any Database
    /// The applicants' keys, loaded with their cases so that the details open without I/O.
    let keys: AccountKeys

    // MARK: Reading

    private func values(_ records: [CaseRecord]) async throws -> [StoredCase] {
        try await keys.load(records.map(\.accountID))
        return try records.map(Self.value)
    }

    private func value(_ record: CaseRecord?) async throws -> StoredCase? {
        guard let record else { return nil }
        return try await values([record]).first
    }

    func find(_ id: UUID) async throws -> StoredCase? {
        try await value(CaseRecord.find(id, on: db))
    }

    /// The case as it is now, if nobody changed it since `version`; 404 or `case_changed`.
    func locked(_ id: UUID, version: Int) async throws -> StoredCase {
        guard let found = try await find(id) else { throw CommonErrors.notFound }
        guard found.version == version else { throw CaseErrors.changed }
        return found
    }

    /// An account's cases, newest first.
    func owned(by accountID: UUID) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$accountID == accountID).sort(\.$createdAt, .descending).all())
    }

    /// Cases of other accounts, or of the same account, that hold a number (by its index).
    func withNumber(_ index: IndexProbe) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$numberIndex ~~ index.accepted).all())
    }

    /// Whether another account holds a case with this number in a state that holds an identity.
    func numberHeldByOthers(_ index: IndexProbe, account: UUID) async throws -> Bool {
        let holding = CaseState.allCases.filter(\.holdsIdentity).map(\.rawValue)
        return try await CaseRecord.query(on: db).filter(\.$numberIndex ~~ index.accepted).filter(\.$accountID != account)
            .filter(\.$state ~~ holding).first() != nil
    }

    /// The account's newest verification under another program than `program`.
    func latestVerified(account: UUID, otherThan program: String) async throws -> StoredCase? {
        try await value(CaseRecord.query(on: db).filter(\.$accountID == account).filter(\.$program != program)
            .filter(\.$state == CaseState.verified.rawValue).sort(\.$verifiedAt, .descending).first())
    }

    /// The account's verified cases under `program`, but `excluding`.
    func verified(account: UUID, program: String, excluding: UUID) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$accountID == account).filter(\.$program == program)
            .filter(\.$state == CaseState.verified.rawValue).filter(\.$id != excluding).all())
    }

    /// An account's cases in the given states.
    func owned(by accountID: UUID, in states: some Collection<CaseState>) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$accountID == accountID).filter(\.$state ~~ states.map(\.rawValue)).all())
    }

    /// Cases in a state whose `field` date is before `date` (the sweep's look-ups), oldest changes first.
    func confirmationsOverdue(at now: Date, limit: Int) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$state == CaseState.awaitingConfirmation.rawValue)
            .filter(\.$confirmationExpiresAt < now).limit(limit).all())
    }

    /// Verified cases not yet reminded that run out in `[now, until)`.
    func unremindedExpiring(from now: Date, until: Date, limit: Int) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$state == CaseState.verified.rawValue).filter(\.$remindedAt == nil)
            .filter(\.$expiresAt >= now).filter(\.$expiresAt < until).limit(limit).all())
    }

    /// Verified cases past their date.
    func verificationsExpired(at now: Date, limit: Int) async throws -> [StoredCase] {
        try await values(CaseRecord.query(on: db).filter(\.$state == CaseState.verified.rawValue).filter(\.$expiresAt < now)
            .limit(limit).all())
    }

    /// The history of cases, oldest first, by case.
    func history(of ids: [UUID]) async throws -> [UUID: [Case.Transition]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await CaseTransitionRecord.query(on: db).filter(\.$caseID ~~ ids).sort(\.$at).sort(\.$seq).all()
        return Dictionary(grouping: rows, by: \.caseID).mapValues { rows in
            rows.map {
                Case.Transition(action: $0.action, from: $0.fromState.flatMap(CaseState.init(rawValue:)),
                                state: CaseState(rawValue: $0.toState) ?? .draft, actorKind: $0.actorKind,
                                actorID: $0.actorID, rule: $0.rule, at: $0.at)
            }
        }
    }

    /// When the account's new applications under `program` were first submitted since `since`, oldest first.
    func firstSubmissions(account: UUID, program: String, since: Date) async throws -> [Date] {
        try await CaseTransitionRecord.query(on: db).filter(\.$accountID == account).filter(\.$program == program)
            .filter(\.$action == CaseAction.submit.name).filter(\.$fromState == CaseState.draft.rawValue).filter(\.$at > since)
            .sort(\.$at, .ascending).all().map(\.at)
    }

    /// Who rejected the newest rejected case among `ids` (nil inside: not a person on record);
    /// nil when none of them was rejected.
    func latestRejection(among ids: [UUID]) async throws -> UUID?? {
        guard !ids.isEmpty, let row = try await CaseTransitionRecord.query(on: db).filter(\.$caseID ~~ ids)
            .filter(\.$toState == CaseState.rejected.rawValue).sort(\.$at, .descending).first() else { return nil }
        return .some(row.actorID)
    }

    /// Who last moved the case into `state`, if a person on record did.
    func lastActor(of id: UUID, into state: CaseState) async throws -> UUID? {
        try await CaseTransitionRecord.query(on: db).filter(\.$caseID == id).filter(\.$toState == state.rawValue)
            .sort(\.$at, .descending).first()?.actorID
    }

    // MARK: Writing

    func insert(_ item: StoredCase) async throws {
        let record = CaseRecord()
        record.id = item.id
        try Self.fill(record, from: item)
        try await record.create(on: db)
    }

    /// Saves a changed case as its next version, in one conditional statement: refused with
    /// `case_changed` when the stored version is no longer the one `item` was read at.
    func save(_ item: inout StoredCase, at now: Date) async throws {
        let sql = try db.sql()
        item.updatedAt = now
        let checks = try item.checks.map(StoredJSON.text)
        let decision = try item.decision.map(StoredJSON.text)
        let row = sql.raw("""
            UPDATE cases SET state = \(bind: item.state.rawValue), data_sealed = \(bind: item.dataSealed), number_index = \(bind: item.numberIndex),
            scope_school = \(bind: item.scopeSchool), scope_grade = \(bind: item.scopeGrade), scope_class = \(bind: item.scopeClass),
            identity_code = \(bind: item.identityCode), checks_json = \(bind: checks), decision_json = \(bind: decision),
            guardian_consent_at = \(bind: item.guardianConsentAt), confirmation_hash = \(bind: item.confirmationHash),
            confirmation_expires_at = \(bind: item.confirmationExpiresAt), confirmation_attempts = \(bind: item.confirmationAttempts),
            submitted_at = \(bind: item.submittedAt), verified_at = \(bind: item.verifiedAt), expires_at = \(bind: item.expiresAt),
            reminded_at = \(bind: item.remindedAt), updated_at = \(bind: now), version = version + 1
            WHERE id = \(bind: item.id) AND version = \(bind: item.version)
            RETURNING version
            """)
        guard let version = try await row.first()?.decode(column: "version", as: Int.self) else { throw CaseErrors.changed }
        item.version = version
    }

    /// Moves the case by one action (refused with 409 when the machine does not allow it) and
    /// writes the history row numbered `seq`, which then counts on; answers the effects the
    /// caller owes (`CaseService.perform`). The caller saves.
    @discardableResult
    func move(_ action: CaseAction, _ item: inout StoredCase, actor: AuditActor, rule: String?, at now: Date,
              seq: inout Int) async throws -> [CaseEffect] {
        let from = item.state
        let step: CaseTransition
        do { step = try CaseMachine.transition(from, on: action) } catch { throw CaseService.transitionError(error) }
        item.state = step.state
        try await writeTransition(item, action: action.name, from: from, to: step.state, actor: actor, rule: rule, at: now, seq: seq)
        seq += 1
        return step.effects
    }

    /// One action on its own: the move, its history row and the saved next version; answers its effects.
    @discardableResult
    func apply(_ action: CaseAction, to item: inout StoredCase, actor: AuditActor, rule: String?, at now: Date) async throws -> [CaseEffect] {
        var seq = try await nextSeq(item.id)
        let effects = try await move(action, &item, actor: actor, rule: rule, at: now, seq: &seq)
        try await save(&item, at: now)
        return effects
    }

    func writeTransition(_ item: StoredCase, action: String, from: CaseState?, to: CaseState, actor: AuditActor, rule: String?,
                         at now: Date, seq: Int) async throws {
        let row = CaseTransitionRecord()
        row.id = UUID()
        row.caseID = item.id
        row.accountID = item.accountID
        row.program = item.program
        row.action = action
        row.fromState = from?.rawValue
        row.toState = to.rawValue
        switch actor {
        case .account(let id): (row.actorKind, row.actorID) = ("applicant", id)
        case .staff(let id): (row.actorKind, row.actorID) = ("staff", id)
        default: (row.actorKind, row.actorID) = ("system", nil)
        }
        row.rule = rule
        row.at = now
        row.seq = seq
        try await row.create(on: db)
    }

    /// The number the case's next history row takes.
    func nextSeq(_ id: UUID) async throws -> Int {
        (try await CaseTransitionRecord.query(on: db).filter(\.$caseID == id).max(\.$seq) ?? 0) + 1
    }

    // MARK: Identity codes

    /// The identity code issued for a number index, if any.
    func identityCode(numberIndex: IndexProbe) async throws -> String? {
        try await IdentityCodeRecord.query(on: db).filter(\.$numberIndex ~~ numberIndex.accepted).first()?.id
    }

    /// Stores a new identity code; false when the code is already taken.
    func issueIdentityCode(_ code: String, numberIndex: String, account: UUID, at now: Date) async throws -> Bool {
        guard try await IdentityCodeRecord.find(code, on: db) == nil else { return false }
        let record = IdentityCodeRecord()
        record.id = code
        record.numberIndex = numberIndex
        record.accountID = account
        record.issuedAt = now
        try await record.create(on: db)
        return true
    }

    // MARK: Mapping

    private static func fill(_ record: CaseRecord, from item: StoredCase) throws {
        record.accountID = item.accountID
        record.program = item.program
        record.state = item.state.rawValue
        record.dataSealed = item.dataSealed
        record.numberIndex = item.numberIndex
        record.scopeSchool = item.scopeSchool
        record.scopeGrade = item.scopeGrade
        record.scopeClass = item.scopeClass
        record.identityCode = item.identityCode
        record.checksJSON = try item.checks.map(StoredJSON.text)
        record.decisionJSON = try item.decision.map(StoredJSON.text)
        record.guardianConsentAt = item.guardianConsentAt
        record.confirmationHash = item.confirmationHash
        record.confirmationExpiresAt = item.confirmationExpiresAt
        record.confirmationAttempts = item.confirmationAttempts
        record.submittedAt = item.submittedAt
        record.verifiedAt = item.verifiedAt
        record.expiresAt = item.expiresAt
        record.remindedAt = item.remindedAt
        record.createdAt = item.createdAt
        record.updatedAt = item.updatedAt
        record.version = item.version
    }

    static func value(_ record: CaseRecord) throws -> StoredCase {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return StoredCase(
            id: try record.requireID(), accountID: record.accountID, program: record.program,
            state: CaseState(rawValue: record.state) ?? .draft, dataSealed: record.dataSealed, numberIndex: record.numberIndex,
            scopeSchool: record.scopeSchool, scopeGrade: record.scopeGrade, scopeClass: record.scopeClass, identityCode: record.identityCode,
            checks: try record.checksJSON.map { try decoder.decode([CheckResult].self, from: Data($0.utf8)) },
            decision: try record.decisionJSON.map { try decoder.decode(CaseDecision.self, from: Data($0.utf8)) },
            guardianConsentAt: record.guardianConsentAt, confirmationHash: record.confirmationHash,
            confirmationExpiresAt: record.confirmationExpiresAt, confirmationAttempts: record.confirmationAttempts,
            submittedAt: record.submittedAt, verifiedAt: record.verifiedAt, expiresAt: record.expiresAt, remindedAt: record.remindedAt,
            createdAt: record.createdAt, updatedAt: record.updatedAt, version: record.version
        )
    }
}
