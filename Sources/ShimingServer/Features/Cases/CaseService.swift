import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Applications: create, edit while allowed, attach documents, submit (the automatic checks
/// run and decide), the second confirmation, and the sweep that locks accounts whose
/// confirmation ran out and expires verifications. Every state change goes through
/// `CaseMachine`, writes a history row and an audit event, and queues its messages, all in
/// one transaction.
struct CaseService: Sendable {
    let context: ShimingContext
    let database: DatabaseProvider
    let registries: CaseRegistries
    var db: any Database { database() }

    static let documentPurpose = "case_document"
    static let maxDocuments = 12
    static let numberDomain = "identity_number"

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        self.context = context
        self.database = database
        registries = CaseRegistries(context: context, stores: { Store(database(), context: context) })
    }

    var now: Date { context.services.clock.now() }
    var cipher: FieldCipher { context.cipher }
    var today: CivilDate { CivilDate(unixSeconds: Int64(now.timeIntervalSince1970)) }
    var secrets: SecretHasher { SecretHasher(keyRing: context.keyRing) }
    var codes: CodeService {
        CodeService(policy: OneTimeCodePolicy(), secrets: secrets, random: context.services.random)
    }

    func numberIndex(_ normalized: String) -> String { context.blindIndex.index(normalized, domain: Self.numberDomain) }

    func program(_ key: String) throws -> Program {
        guard let program = context.programs[key] else {
            throw UserFacingError(code: "program_unavailable", kind: .conflict,
                                  message: LocalizedText("该认证项目已停用。", "This verification program is no longer offered."))
        }
        return program
    }

    static func notEditable(_ state: CaseState) -> UserFacingError {
        UserFacingError(code: "case_not_editable", kind: .conflict,
                        message: LocalizedText("申请当前状态为「\(state.label.zh)」，不能修改。", "The application is \(state.label.en.lowercased()) and cannot be changed."))
    }

    /// The record, re-read inside a transaction, if nobody changed it since `version`.
    static func locked(_ id: UUID, version: Int, on tx: any Database) async throws -> CaseRecord {
        guard let record = try await CaseRecord.find(id, on: tx) else { throw CommonErrors.notFound }
        guard record.version == version else { throw CaseErrors.changed }
        return record
    }

    /// The caller's own case; another account's is 404 (API.md: no existence leak).
    func own(_ id: UUID, account: Account) async throws -> Case {
        guard let record = try await CaseRecord.find(id, on: db), record.accountID == account.id else {
            throw CommonErrors.notFound
        }
        return try await load(record)
    }

    func load(_ record: CaseRecord) async throws -> Case {
        try await load([record])[0]
    }

    /// What the applicant stated, decrypted (no I/O: usable inside a transaction).
    func application(of record: CaseRecord) throws -> CaseApplication {
        let json = try cipher.open(record.dataSealed, context: CaseRecord.context(try record.requireID()))
        return try JSONDecoder().decode(CaseApplication.self, from: Data(json.utf8))
    }

    /// Decrypts cases with their documents and history, two queries for the whole list.
    func load(_ records: [CaseRecord]) async throws -> [Case] {
        let ids = try records.map { try $0.requireID() }
        guard !ids.isEmpty else { return [] }
        let documents = Dictionary(grouping: try await SealedFiles.files(of: ids, purpose: Self.documentPurpose, on: db), by: \.parentID)
        let transitions = Dictionary(grouping: try await CaseTransitionRecord.query(on: db).filter(\.$caseID ~~ ids)
            .sort(\.$at).sort(\.$seq).all(), by: \.caseID)
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try records.map { record in
            let id = try record.requireID()
            var item = Case(
                id: id, accountID: record.accountID, program: record.program, state: CaseState(rawValue: record.state) ?? .draft,
                application: try application(of: record),
                numberIndex: record.numberIndex, identityCode: record.identityCode,
                checks: try record.checksJSON.map { try decoder.decode([CheckResult].self, from: Data($0.utf8)) } ?? [],
                decision: try record.decisionJSON.map { try decoder.decode(CaseDecision.self, from: Data($0.utf8)) },
                documents: documents[id] ?? [],
                history: (transitions[id] ?? []).map {
                    Case.Transition(action: $0.action, from: $0.fromState.flatMap(CaseState.init(rawValue:)),
                                    state: CaseState(rawValue: $0.toState) ?? .draft, actorKind: $0.actorKind,
                                    actorID: $0.actorID, rule: $0.rule, at: $0.at)
                },
                guardianConsentAt: record.guardianConsentAt, confirmationExpiresAt: record.confirmationExpiresAt,
                confirmationAttempts: record.confirmationAttempts, submittedAt: record.submittedAt, verifiedAt: record.verifiedAt,
                expiresAt: record.expiresAt, createdAt: record.createdAt, updatedAt: record.updatedAt, version: record.version
            )
            item.decisionMessage = try item.decision?.messageSealed.map { try cipher.open($0, context: CaseRecord.messageContext(id)) }
            return item
        }
    }

    func list(account: Account) async throws -> [Case] {
        try await load(CaseRecord.query(on: db).filter(\.$accountID == account.id).sort(\.$createdAt, .descending).all())
    }

    // MARK: Staff look-up

    /// The accounts whose applications hold a document number (as typed; resident IDs are
    /// normalised first, as the index was built), found through the blind index. The look-up
    /// is audited, without the number.
    func accounts(holdingNumber raw: String, staff: Account, ip: String?) async throws -> [Account] {
        let compact = raw.uppercased().filter { !$0.isWhitespace }
        let checked = DocumentCheck.check(compact, as: .resident, today: today)
        var normalized = checked.isValid ? checked.normalized ?? compact : compact
        if checked.isValid, checked.type == .residentID15, let upgraded = try? ResidentIDNumber.upgrade(normalized, today: today) { normalized = upgraded }
        let ids = Set(try await CaseRecord.query(on: db).filter(\.$numberIndex == numberIndex(normalized)).all().map(\.accountID))
        let found = ids.isEmpty ? [] : try await AccountRecord.query(on: db).filter(\.$id ~~ Array(ids)).sort(\.$createdAt).all()
        try await AuditLog.recordAlone("account.looked_up_by_number", actor: .staff(staff.id), subject: "staff:\(staff.id.uuidString.lowercased())", ip: ip,
                                       details: ["matches": String(found.count)], at: now, gate: context.writeGate, on: db)
        return try found.map { try $0.account(cipher: context.cipher) }
    }


    /// Moves the record by one action, writing the history row.
    func apply(_ action: CaseAction, to record: CaseRecord, actor: AuditActor, rule: String?, at now: Date, seq: inout Int, on tx: any Database) async throws {
        try await CaseStore.move(action, record, actor: actor, rule: rule, at: now, seq: &seq, on: tx)
    }

    static func transitionError(_ error: CaseTransitionError) -> UserFacingError {
        UserFacingError(code: error.code, kind: .conflict, message: error.message)
    }

    static func writeTransition(_ record: CaseRecord, action: String, from: CaseState?, to: CaseState, actor: AuditActor, rule: String?,
                                at now: Date, seq: Int, on tx: any Database) async throws {
        let row = CaseTransitionRecord()
        row.id = UUID()
        row.caseID = try record.requireID()
        row.accountID = record.accountID
        row.program = record.program
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
        try await row.create(on: tx)
    }

    static func nextSeq(_ id: UUID, on tx: any Database) async throws -> Int {
        (try await CaseTransitionRecord.query(on: tx).filter(\.$caseID == id).max(\.$seq) ?? 0) + 1
    }

    static func json<T: Encodable>(_ value: T) throws -> String { try StoredJSON.text(value) }

    static func subject(_ id: UUID) -> String { "case:\(id.uuidString.lowercased())" }
}
