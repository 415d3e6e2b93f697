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
    let stores: StoreProvider
    let registries: CaseRegistries
    var store: Store { stores() }

    static let documentPurpose = "case_document"
    static let maxDocuments = 12
    static let numberDomain = "identity_number"

    init(context: ShimingContext, stores: @escaping StoreProvider) {
        self.context = context
        self.stores = stores
        registries = CaseRegistries(context: context, stores: stores)
    }

    var now: Date { context.services.clock.now() }
    var cipher: FieldCipher { context.cipher }
    var today: CivilDate { ChinaTime.civilDay(now) }
    var secrets: SecretHasher { SecretHasher(keyRing: context.keyRing) }
    var codes: CodeService {
        CodeService(context: context)
    }

    func numberIndex(_ normalized: String) -> IndexProbe { context.blindIndex.index(normalized, domain: Self.numberDomain) }

    /// What finds the cases holding the same number as this one: its stored index or, while a
    /// re-index runs, both keys' indexes of its number (a stored index cannot be translated, so
    /// the number is read from the application again).
    func numberProbe(of record: StoredCase) throws -> IndexProbe? {
        guard let stored = record.numberIndex else { return nil }
        guard context.blindIndex.isReindexing, let program = context.programs[record.program],
              let number = CaseEvaluator(program: program, today: today).identityNumber(try application(of: record))?.number else {
            return IndexProbe(stored: stored, accepted: [stored])
        }
        return numberIndex(number)
    }

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

    /// The caller's own case; another account's is 404 (API.md: no existence leak).
    func own(_ id: UUID, account: Account) async throws -> Case {
        guard let (found, documents, history) = try await store.cases.whole(id, documents: Self.documentPurpose),
              found.accountID == account.id else {
            throw CommonErrors.notFound
        }
        return try assemble(found, documents: documents, history: history)
    }

    func load(_ item: StoredCase) async throws -> Case {
        try await load([item])[0]
    }

    /// What the applicant stated, decrypted (no I/O: usable inside a transaction).
    func application(of item: StoredCase) throws -> CaseApplication {
        try application(sealed: item.dataSealed, of: item.id)
    }

    /// The application sealed as case `id`'s (`StoredCase.dataSealed`), opened.
    func application(sealed: String, of id: UUID) throws -> CaseApplication {
        let json = try cipher.open(sealed, context: StoredCase.dataContext(id))
        if let tree = try? JSONTree.parse(json), let application = CaseApplication(stored: tree) { return application }
        return try DirectJSON.decode(CaseApplication.self, from: json, iso8601Dates: false)
    }

    /// Decrypts cases with their documents and history, two queries for the whole list.
    func load(_ items: [StoredCase]) async throws -> [Case] {
        let ids = items.map(\.id)
        guard !ids.isEmpty else { return [] }
        let store = store
        let documents = Dictionary(grouping: try await store.files(of: ids, purpose: Self.documentPurpose), by: \.parentID)
        let history = try await store.cases.history(of: ids)
        return try items.map { try assemble($0, documents: documents[$0.id] ?? [], history: history[$0.id] ?? []) }
    }

    /// A stored case with its documents and history, decrypted (no I/O); `application`, when
    /// the caller holds it opened already (it is what `dataSealed` seals).
    func assemble(_ stored: StoredCase, application: CaseApplication? = nil, documents: [StoredFile], history: [Case.Transition]) throws -> Case {
        let id = stored.id
        var item = Case(
            id: id, accountID: stored.accountID, program: stored.program, state: stored.state,
            application: try application ?? self.application(of: stored),
            numberIndex: stored.numberIndex, identityCode: stored.identityCode,
            checks: stored.checks ?? [], decision: stored.decision,
            documents: documents, history: history,
            guardianConsentAt: stored.guardianConsentAt, confirmationExpiresAt: stored.confirmationExpiresAt,
            confirmationAttempts: stored.confirmationAttempts, submittedAt: stored.submittedAt, verifiedAt: stored.verifiedAt,
            expiresAt: stored.expiresAt, createdAt: stored.createdAt, updatedAt: stored.updatedAt, version: stored.version
        )
        item.decisionMessage = try item.decision?.messageSealed.map { try cipher.open($0, context: StoredCase.messageContext(id)) }
        return item
    }

    func list(account: Account) async throws -> [Case] {
        try await load(store.cases.owned(by: account.id))
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
        let store = store
        let ids = Set(try await store.cases.withNumber(numberIndex(normalized)).map(\.accountID))
        let found = try await store.accounts.find(Array(ids)).sorted { $0.createdAt < $1.createdAt }
        try await store.auditAlone("account.looked_up_by_number", actor: .staff(staff.id), subject: "staff:\(staff.id.lowercasedText)", ip: ip,
                                   details: ["matches": String(found.count)], at: now)
        return found
    }


    static func transitionError(_ error: CaseTransitionError) -> UserFacingError {
        UserFacingError(code: error.code, kind: .conflict, message: error.message)
    }

    static func subject(_ id: UUID) -> String { "case:\(id.lowercasedText)" }
}
