import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Cases, their history and identity codes.
    var cases: CaseStore { CaseStore(db: database, keys: keys, reads: reads, growth: gate.growth) }
}

/// Rows of `cases` ⇄ `StoredCase`, with the history rows of `case_transitions` and the identity
/// codes. Every change moves `version` on in the statement that checks it (a writer holding an
/// older version gets `case_changed`, even when two instances write at once), and every change
/// of state goes through `CaseMachine` and leaves a history row.
struct CaseStore: Sendable {
    let db: any Database
    /// The applicants' keys, loaded with their cases so that the details open without I/O.
    let keys: AccountKeys
    /// The process's batched reads.
    let reads: ReadBatches
    /// `WriteGate.growth` when the store was made: the batched read is planned for it.
    let growth: Int

    // MARK: Reading
    //
    // The reads are plain SQL on the columns `StoredCase` is made of (the hot paths: every case
    // page and API read), each row mapped once by `value(row:)`.

    private func select(_ tail: SQLQueryString) async throws -> [StoredCase] {
        let items = try await db.sql().raw("SELECT \(Self.columns) FROM cases \(tail)").all().map(Self.value(row:))
        try await keys.load(items.map(\.accountID))
        return items
    }

    func find(_ id: UUID) async throws -> StoredCase? {
        try await select("WHERE id = \(bind: id)").first
    }

    /// The case as it is now, if nobody changed it since `version`; 404 or `case_changed`.
    func locked(_ id: UUID, version: Int) async throws -> StoredCase {
        guard let found = try await find(id) else { throw CommonErrors.notFound }
        guard found.version == version else { throw CaseErrors.changed }
        return found
    }

    /// An account's cases, newest first.
    func owned(by accountID: UUID) async throws -> [StoredCase] {
        try await select("WHERE account_id = \(bind: accountID) ORDER BY created_at DESC")
    }

    /// How many cases an account has in a state.
    func count(of accountID: UUID, in state: CaseState) async throws -> Int {
        try await db.sql().raw("SELECT COUNT(*) AS n FROM cases WHERE account_id = \(bind: accountID) AND state = \(bind: state.rawValue)")
            .first()?.value("n") ?? 0
    }

    /// Cases of other accounts, or of the same account, that hold a number (by its index).
    func withNumber(_ index: IndexProbe) async throws -> [StoredCase] {
        try await select("WHERE number_index IN (\(binds: index.accepted))")
    }

    /// Whether another account holds a case with this number in a state that holds an identity.
    func numberHeldByOthers(_ index: IndexProbe, account: UUID) async throws -> Bool {
        try await db.sql().raw("""
            SELECT 1 AS held FROM cases WHERE number_index IN (\(binds: index.accepted)) AND account_id <> \(bind: account)
            AND state IN (\(binds: Self.holdingStates)) LIMIT 1
            """).first() != nil
    }

    /// The states in which a case holds its number against other accounts'.
    static let holdingStates = CaseState.allCases.filter(\.holdsIdentity).map(\.rawValue)

    /// The account's newest verification under another program than `program`.
    func latestVerified(account: UUID, otherThan program: String) async throws -> StoredCase? {
        try await select("""
            WHERE account_id = \(bind: account) AND program <> \(bind: program) AND state = \(bind: CaseState.verified.rawValue)
            ORDER BY verified_at DESC LIMIT 1
            """).first
    }

    /// The account's verified cases under `program`, but `excluding`.
    func verified(account: UUID, program: String, excluding: UUID) async throws -> [StoredCase] {
        try await select("""
            WHERE account_id = \(bind: account) AND program = \(bind: program) AND state = \(bind: CaseState.verified.rawValue)
            AND id <> \(bind: excluding)
            """)
    }

    /// An account's cases in the given states.
    func owned(by accountID: UUID, in states: some Collection<CaseState>) async throws -> [StoredCase] {
        guard !states.isEmpty else { return [] }
        return try await select("WHERE account_id = \(bind: accountID) AND state IN (\(binds: states.map(\.rawValue)))")
    }

    /// Cases in a state whose `field` date is before `date` (the sweep's look-ups), oldest changes first.
    func confirmationsOverdue(at now: Date, limit: Int) async throws -> [StoredCase] {
        try await select("""
            WHERE state = \(bind: CaseState.awaitingConfirmation.rawValue) AND confirmation_expires_at < \(bind: now) LIMIT \(literal: limit)
            """)
    }

    /// Verified cases not yet reminded that run out in `[now, until)`.
    func unremindedExpiring(from now: Date, until: Date, limit: Int) async throws -> [StoredCase] {
        try await select("""
            WHERE state = \(bind: CaseState.verified.rawValue) AND reminded_at IS NULL AND expires_at >= \(bind: now)
            AND expires_at < \(bind: until) LIMIT \(literal: limit)
            """)
    }

    /// Verified cases past their date.
    func verificationsExpired(at now: Date, limit: Int) async throws -> [StoredCase] {
        try await select("WHERE state = \(bind: CaseState.verified.rawValue) AND expires_at < \(bind: now) LIMIT \(literal: limit)")
    }

    /// A case with its documents and history, as `whole` answers it.
    typealias Whole = (StoredCase, documents: [StoredFile], history: [Case.Transition])

    /// One read of `whole`, in a batch.
    struct WholeRead: Sendable {
        let id: UUID
        let purpose: String
    }

    /// A case with its documents (`stored_files` of `purpose`, oldest first) and its history:
    /// the read of every case page and API call on one case.
    /// - On SQLite three statements, which run in-process from prepared statements and cost less
    ///   than building and parsing JSON.
    /// - On PostgreSQL one statement (the children as rows of their own, `wholes`). Outside a transaction
    ///   the reads that arrive while one is read wait and are read together in one statement
    ///   (`ReadBatches`): on PostgreSQL each statement costs a round trip and the client's and
    ///   the server's work for it, more than its rows. It is kept prepared and planned afresh
    ///   each time this process's writes double (`PlannedAsDataGrows`), so that a plan made
    ///   while the tables were small is not kept after they grew. The ids are read through
    ///   `(SELECT $n)`, which the planner does not look into: with the array in view, a batch of
    ///   one or a few ids was planned afresh at almost every run (under the submit load, 492
    ///   plans in 541 runs, more time planning than running; now 48 in 492).
    func whole(_ id: UUID, documents purpose: String) async throws -> Whole? {
        if let sqlite = db as? DirectSQLiteDatabase { return try await whole(id, documents: purpose, on: sqlite) }
        if SQLEngine.of(db) == .sqlite {
            guard let item = try await find(id) else { return nil }
            return (item, try await SealedFiles.files(of: [id], purpose: purpose, on: db), try await history(of: [id])[id] ?? [])
        }
        guard !db.inTransaction else { return try await wholes([id], documents: purpose)[id] }
        return try await reads.cases.run(WholeRead(id: id, purpose: purpose), all: { [self] batch in try await wholes(batch) })
    }

    /// A batch of `whole`'s reads: one statement for each purpose among them (there is one).
    private func wholes(_ batch: [WholeRead]) async throws -> [Whole?] {
        var found: [String: [UUID: Whole]] = [:]
        for purpose in Set(batch.map(\.purpose)) {
            found[purpose] = try await wholes(batch.filter { $0.purpose == purpose }.map(\.id), documents: purpose)
        }
        return batch.map { found[$0.purpose]?[$0.id] }
    }

    /// The history of cases, oldest first, by case.
    func history(of ids: [UUID]) async throws -> [UUID: [Case.Transition]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try await db.sql().raw("""
            SELECT \(unsafeRaw: Self.transitionColumns.joined(separator: ", ")) FROM case_transitions
            WHERE case_id IN (\(binds: ids)) ORDER BY at, seq
            """).all()
        var history: [UUID: [Case.Transition]] = [:]
        for row in rows {
            let (caseID, transition) = try Self.transition(row: row)
            history[caseID, default: []].append(transition)
        }
        return history
    }

    /// The columns of `case_transitions` a `Case.Transition` is read from.
    static let transitionColumns = ["case_id", "action", "from_state", "to_state", "actor_kind", "actor_id", "rule", "at"]

    static func transition(row: some SQLRow) throws -> (caseID: UUID, transition: Case.Transition) {
        let from: String? = try row.value("from_state")
        return (try row.value("case_id"), Case.Transition(
            action: try row.value("action"), from: from.flatMap(CaseState.init(rawValue:)),
            state: CaseState(rawValue: try row.value("to_state")) ?? .draft, actorKind: try row.value("actor_kind"),
            actorID: try row.value("actor_id"), rule: try row.value("rule"), at: try row.value("at")))
    }

    /// When the account's new applications under `program` were first submitted since `since`,
    /// oldest first. The action and the state are written into the statement, not bound: they
    /// are the condition of the partial index `case_transitions_first_submissions`, which a
    /// planner uses only when it sees the same values.
    func firstSubmissions(account: UUID, program: String, since: Date) async throws -> [Date] {
        try await db.sql().raw("SELECT at \(Self.firstSubmissions(account: account, program: program, since: since)) ORDER BY at")
            .all().map { try $0.value("at") }
    }

    /// `FROM … WHERE …` of those first submissions (none when `since` is nil).
    static func firstSubmissions(account: UUID, program: String, since: Date?) -> SQLQueryString {
        """
        FROM case_transitions WHERE account_id = \(bind: account) AND program = \(bind: program)
        AND action = 'submit' AND from_state = 'draft' AND at > \(bind: since)
        """
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
        let checks = try item.$checks.columnText(), decision = try item.$decision.columnText()
        try await db.sql().raw("""
            INSERT INTO cases (\(Self.columns)) VALUES (\(bind: item.id), \(bind: item.accountID), \(bind: item.program),
            \(bind: item.state.rawValue), \(bind: item.dataSealed), \(bind: item.numberIndex), \(bind: item.scopeSchool), \(bind: item.scopeGrade),
            \(bind: item.scopeClass), \(bind: item.identityCode), \(bind: checks), \(bind: decision), \(bind: item.guardianConsentAt),
            \(bind: item.confirmationHash), \(bind: item.confirmationExpiresAt), \(bind: item.confirmationAttempts), \(bind: item.submittedAt),
            \(bind: item.verifiedAt), \(bind: item.expiresAt), \(bind: item.remindedAt), \(bind: item.createdAt), \(bind: item.updatedAt),
            \(bind: item.version))
            """).run()
    }

    /// Saves a changed case as its next version, in one conditional statement: refused with
    /// `case_changed` when the stored version is no longer the one `item` was read at.
    func save(_ item: inout StoredCase, at now: Date) async throws {
        item.updatedAt = now
        let row = try db.sql().raw(try Self.update(item, at: now) + " RETURNING version")
        guard let version = try await row.first()?.decode(column: "version", as: Int.self) else { throw CaseErrors.changed }
        item.version = version
    }

    /// The conditional update that saves `item` as its next version (`save`, `saveLocked`).
    static func update(_ item: StoredCase, at now: Date) throws -> SQLQueryString {
        let checks = try item.$checks.columnText()
        let decision = try item.$decision.columnText()
        return """
            UPDATE cases SET state = \(bind: item.state.rawValue), data_sealed = \(bind: item.dataSealed), number_index = \(bind: item.numberIndex),
            scope_school = \(bind: item.scopeSchool), scope_grade = \(bind: item.scopeGrade), scope_class = \(bind: item.scopeClass),
            identity_code = \(bind: item.identityCode), checks_json = \(bind: checks), decision_json = \(bind: decision),
            guardian_consent_at = \(bind: item.guardianConsentAt), confirmation_hash = \(bind: item.confirmationHash),
            confirmation_expires_at = \(bind: item.confirmationExpiresAt), confirmation_attempts = \(bind: item.confirmationAttempts),
            submitted_at = \(bind: item.submittedAt), verified_at = \(bind: item.verifiedAt), expires_at = \(bind: item.expiresAt),
            reminded_at = \(bind: item.remindedAt), updated_at = \(bind: now), version = version + 1
            WHERE id = \(bind: item.id) AND version = \(bind: item.version)
            """
    }

    /// Moves the case by one action (refused with 409 when the machine does not allow it) and
    /// writes the history row numbered `seq`, which then counts on; answers the effects the
    /// caller owes (`CaseService.perform`). The caller saves.
    @discardableResult
    func move(_ action: CaseAction, _ item: inout StoredCase, actor: AuditActor, rule: String?, at now: Date,
              seq: inout Int) async throws -> [CaseEffect] {
        try await moves([(action, actor, rule)], &item, at: now, seq: &seq)
    }

    /// Several moves one after another, their history rows written in one statement (and kept
    /// on the value, `StoredCase.moved`); answers their effects in order. The caller saves.
    func moves(_ steps: [(action: CaseAction, actor: AuditActor, rule: String?)], _ item: inout StoredCase, at now: Date,
               seq: inout Int) async throws -> [CaseEffect] {
        var rows: [SQLQueryString] = []
        var effects: [CaseEffect] = []
        for (action, actor, rule) in steps {
            let from = item.state
            let step: CaseTransition
            do { step = try CaseMachine.transition(from, on: action) } catch { throw CaseService.transitionError(error) }
            item.state = step.state
            let (row, transition) = Self.transitionRow(item, action: action.name, from: from, to: step.state, actor: actor, rule: rule, at: now, seq: seq)
            rows.append(row)
            item.moved.append(transition)
            seq += 1
            effects += step.effects
        }
        guard !rows.isEmpty else { return [] }
        // Read back by nobody in the transaction: it goes with the next statement.
        try await db.sql().runDeferred("\(Self.insertTransitions) \(rows.joined(separator: ", "))")
        return effects
    }

    /// One action on its own: the move, its history row and the saved next version; answers its effects.
    @discardableResult
    func apply(_ action: CaseAction, to item: inout StoredCase, actor: AuditActor, rule: String?, at now: Date) async throws -> [CaseEffect] {
        var seq = try await nextSeq(item.id)
        let effects = try await move(action, &item, actor: actor, rule: rule, at: now, seq: &seq)
        try await save(&item, at: now)
        return effects
    }

    /// Writes a history row; answers it as the history reads it.
    @discardableResult
    func writeTransition(_ item: StoredCase, action: String, from: CaseState?, to: CaseState, actor: AuditActor, rule: String?,
                         at now: Date, seq: Int) async throws -> Case.Transition {
        let (row, transition) = Self.transitionRow(item, action: action, from: from, to: to, actor: actor, rule: rule, at: now, seq: seq)
        try await db.sql().runDeferred("\(Self.insertTransitions) \(row)")
        return transition
    }

    private static let insertTransitions: SQLQueryString =
        "INSERT INTO case_transitions (id, case_id, account_id, program, action, from_state, to_state, actor_kind, actor_id, rule, at, seq) VALUES"

    /// A history row's values, and the row as the history reads it.
    private static func transitionRow(_ item: StoredCase, action: String, from: CaseState?, to: CaseState, actor: AuditActor, rule: String?,
                                      at now: Date, seq: Int) -> (row: SQLQueryString, transition: Case.Transition) {
        let (actorKind, actorID): (String, UUID?) = switch actor {
        case .account(let id): ("applicant", id)
        case .staff(let id): ("staff", id)
        default: ("system", nil)
        }
        let row: SQLQueryString = """
            (\(bind: UUID.timeOrdered(at: now)), \(bind: item.id), \(bind: item.accountID), \(bind: item.program), \(bind: action), \(bind: from?.rawValue),
            \(bind: to.rawValue), \(bind: actorKind), \(bind: actorID), \(bind: rule), \(bind: now), \(bind: seq))
            """
        return (row, Case.Transition(action: action, from: from, state: to, actorKind: actorKind, actorID: actorID, rule: rule, at: now))
    }

    /// The number the case's next history row takes.
    func nextSeq(_ id: UUID) async throws -> Int {
        try await db.sql().raw("SELECT \(Self.nextSeq(of: "\(bind: id)")) AS next").first()?.value("next") ?? 1
    }

    /// The next history number of the case `id` (an expression: a bound value or a column).
    static func nextSeq(of id: SQLQueryString) -> SQLQueryString {
        "(SELECT COALESCE(MAX(seq), 0) + 1 FROM case_transitions WHERE case_id = \(id))"
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
}
