import Foundation
import IdentityRules
import ShimingCore

/// Login name, legal name and gender cannot be edited directly: the applicant files a change
/// request with a reason and proof, and staff decide. The new value and the reason are personal
/// data and stored sealed; the decision is audited and the applicant is told through the outbox.
enum ChangeRequestField: String, Sendable, CaseIterable, Codable {
    case username
    case legalName
    case gender

    var label: LocalizedText {
        switch self {
        case .username: LocalizedText("登录名", "Login name")
        case .legalName: LocalizedText("姓名", "Legal name")
        case .gender: LocalizedText("性别", "Gender")
        }
    }
}

enum ChangeRequestState: String, Sendable, Codable, CaseIterable {
    case pending
    case approved
    case rejected
}

/// A change request as the rest of the server sees it: decrypted, `Sendable`.
struct ChangeRequest: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    var field: ChangeRequestField
    var newValue: String
    var oldValue: String?
    var reason: String
    var state: ChangeRequestState
    var decidedBy: UUID?
    var decidedAt: Date?
    var decisionNote: String?
    var createdAt: Date
    var proofs: [StoredFile]

    /// The value as shown on screens: names masked, the rest as is.
    static func display(_ value: String?, field: ChangeRequestField) -> String? {
        guard let value else { return nil }
        return field == .legalName ? PersonalName.mask(value) : value
    }
}

/// The change-request rules.
struct ChangeRequestService: Sendable {
    static let proofPurpose = "change_request_proof"
    static let maxProofBytes = 5 * 1024 * 1024
    static let maxProofs = 5

    let context: ShimingContext
    let stores: StoreProvider
    var store: Store { stores() }

    init(context: ShimingContext, stores: @escaping StoreProvider) {
        self.context = context
        self.stores = stores
    }

    var now: Date { context.services.clock.now() }

    struct Input: Codable, Sendable {
        var field: String
        var newValue: String
        var reason: String
    }

    /// Files a change request (state `pending`; staff decide once a proof is attached).
    func create(account: Account, _ input: Input, ip: String?) async throws -> ChangeRequest {
        var fields: [String: String] = [:]
        let field = ChangeRequestField(rawValue: input.field)
        if field == nil { fields["field"] = "invalid_value" }
        let reason = input.reason.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty { fields["reason"] = "required" } else if reason.count > 500 { fields["reason"] = "invalid_length" }
        var newValue = input.newValue.trimmingCharacters(in: .whitespacesAndNewlines)
        var current: String?
        if let field {
            switch field {
            case .username:
                current = account.username
                if AccountService.isValidUsername(newValue) { newValue = newValue.lowercased() } else { fields["newValue"] = "invalid_format" }
            case .legalName:
                current = account.legalName
                do throws(DocumentError) { newValue = try PersonalName.validate(newValue) } catch { fields["newValue"] = error.rawValue }
            case .gender:
                current = account.gender
                if !["male", "female"].contains(newValue) { fields["newValue"] = "invalid_value" }
            }
            if newValue.isEmpty { fields["newValue"] = "required" }
            if fields["newValue"] == nil, newValue == current { fields["newValue"] = "unchanged" }
        }
        guard let field, fields.isEmpty else { throw AccountError.invalid(fields) }
        let store = store
        if field == .username, try await store.accounts.withUsername(newValue) != nil {
            throw UserFacingError(code: "already_registered", kind: .conflict,
                                  message: LocalizedText("该登录名已被使用。", "This login name is already taken."), fields: ["newValue": "taken"])
        }
        let request = ChangeRequest(id: UUID(), accountID: account.id, field: field, newValue: newValue, oldValue: current, reason: reason,
                                    state: .pending, createdAt: now, proofs: [])
        try await store.transaction { tx in
            guard try await !tx.changeRequests.hasPending(account: account.id, field: field) else {
                throw UserFacingError(code: "change_request_open", kind: .conflict,
                                      message: LocalizedText("这一项已有待处理的变更申请，请等待审核结果。",
                                                             "A change request for this field is already waiting for a decision."),
                                      fields: ["field": "change_request_open"])
            }
            try await tx.changeRequests.insert(request)
            try await tx.audit("change_request.created", actor: .account(account.id), subject: Self.subject(request.id),
                               ip: ip, details: ["field": field.rawValue, "account": account.id.lowercasedText], at: request.createdAt)
        }
        return request
    }

    static func subject(_ id: UUID) -> String { "change_request:\(id.lowercasedText)" }

    /// The caller's own change request; another account's is 404.
    func own(_ id: UUID, account: Account) async throws -> ChangeRequest {
        guard let request = try await store.changeRequests.find(id), request.accountID == account.id else {
            throw CommonErrors.notFound
        }
        return try await load(request)
    }

    /// Loads a request for staff and records that they looked (after `check`, so that a
    /// refused look — an unknown proof — is not recorded as a view).
    func staffView(
        _ id: UUID, action: String, staff: Account, ip: String?, details: [String: String] = [:],
        check: (ChangeRequest) throws -> Void = { _ in }
    ) async throws -> ChangeRequest {
        let store = store
        guard let found = try await store.changeRequests.find(id) else { throw CommonErrors.notFound }
        let request = try await load(found)
        try check(request)
        try await store.auditAlone(action, actor: .staff(staff.id), subject: Self.subject(id), ip: ip, details: details, at: now)
        return request
    }

    /// How many requests wait for a decision.
    func pendingCount() async throws -> Int { try await store.changeRequests.count(in: .pending) }

    /// A request shown again to the staff member whose decision on it was just refused (their
    /// look was recorded when they opened it).
    func reloaded(_ id: UUID) async throws -> ChangeRequest {
        guard let request = try await store.changeRequests.find(id) else { throw CommonErrors.notFound }
        return try await load(request)
    }

    func load(_ request: ChangeRequest) async throws -> ChangeRequest {
        try await load([request])[0]
    }

    /// The requests with their proofs, fetched in one query for the whole list.
    func load(_ requests: [ChangeRequest]) async throws -> [ChangeRequest] {
        let ids = requests.map(\.id)
        let proofs = ids.isEmpty ? [:] : Dictionary(grouping: try await store.files(of: ids, purpose: Self.proofPurpose), by: \.parentID)
        return requests.map { request in
            var loaded = request
            loaded.proofs = proofs[request.id] ?? []
            return loaded
        }
    }

    func list(account: Account) async throws -> [ChangeRequest] {
        try await load(store.changeRequests.owned(by: account.id))
    }

    /// Staff's list, oldest first (first come, first served).
    func list(state: ChangeRequestState?, limit: Int) async throws -> [ChangeRequest] {
        try await load(store.changeRequests.list(state: state, limit: limit))
    }

    /// Attaches a proof (JPEG, PNG or PDF by content, at most 5 MB, at most 5 per request),
    /// received and sealed already; refused, it is removed.
    func addProof(to id: UUID, account: Account, file upload: ReceivedFile, ip: String?) async throws -> StoredFile {
        let files = context.files
        return try await files.owning(upload) {
            let request = try await own(id, account: account)
            guard request.state == .pending else {
                throw UserFacingError(code: "change_request_decided", kind: .conflict,
                                      message: LocalizedText("该申请已处理，不能再补充材料。", "This request has been decided; no more proof can be added."))
            }
            guard request.proofs.count < Self.maxProofs else {
                throw UserFacingError(code: "too_many_files", kind: .invalidInput,
                                      message: LocalizedText("每个申请最多上传 \(Self.maxProofs) 份材料。", "At most \(Self.maxProofs) files per request."),
                                      fields: ["file": "too_many_files"])
            }
            let sniffed = try Self.checkProof(upload)
            let now = self.now
            return try await store.transaction { tx in
                let stored = try await tx.recordFile(in: files, id: upload.id, owner: account.id, purpose: Self.proofPurpose, parent: id, kind: nil,
                                                     sniffed: sniffed, size: upload.size, at: now)
                try await tx.audit("change_request.proof_added", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                   details: ["file": upload.id.lowercasedText, "contentType": sniffed.format.contentType, "size": String(upload.size)],
                                   at: now)
                return stored
            }
        }
    }

    /// The proof's format and size, or the refusal naming the `file` field.
    static func checkProof(_ file: ReceivedFile) throws -> SniffedFile {
        try SealedFiles.check(file, maxBytes: maxProofBytes)
    }

    /// A proof's bytes for someone who may see the request.
    func proof(_ fileID: UUID, of request: ChangeRequest) async throws -> (StoredFile, Data) {
        guard let file = request.proofs.first(where: { $0.id == fileID }) else { throw CommonErrors.notFound }
        return (file, try await context.files.read(file))
    }

    /// A proof of the holder's own request (another account's is 404).
    func ownProof(_ fileID: UUID, request id: UUID, account: Account) async throws -> (StoredFile, Data) {
        try await proof(fileID, of: try await own(id, account: account))
    }

    /// A proof as staff open it (API and page alike): the look is audited as
    /// `change_request.proof_viewed`; asking for a proof the request does not have is 404 and
    /// records nothing.
    func staffProof(_ fileID: UUID, request id: UUID, staff: Account, ip: String?) async throws -> (StoredFile, Data) {
        let request = try await staffView(id, action: "change_request.proof_viewed", staff: staff, ip: ip,
                                          details: ["file": fileID.lowercasedText]) {
            guard $0.proofs.contains(where: { $0.id == fileID }) else { throw CommonErrors.notFound }
        }
        return try await proof(fileID, of: request)
    }

    struct Decision: Codable, Sendable {
        var outcome: String
        var note: String?
    }

    /// Approves (the change is made in the same transaction) or rejects (a note telling the
    /// applicant why is required). Audited; the applicant is told by SMS or e-mail.
    func decide(_ id: UUID, staff: Account, _ decision: Decision, ip: String?) async throws -> ChangeRequest {
        var fields: [String: String] = [:]
        let outcome = ChangeRequestState(rawValue: decision.outcome == "approve" ? "approved" : decision.outcome == "reject" ? "rejected" : "")
        if outcome == nil { fields["outcome"] = "invalid_value" }
        let note = decision.note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if outcome == .rejected, note.isEmpty { fields["note"] = "required" }
        if note.count > 500 { fields["note"] = "invalid_length" }
        guard let outcome, fields.isEmpty else { throw AccountError.invalid(fields) }
        let now = self.now
        let subject = Self.subject(id)
        let store = store
        // Nobody decides their own request; the attempt is recorded (in its own transaction,
        // since the refusal itself changes nothing else).
        if try await store.changeRequests.find(id)?.accountID == staff.id {
            try await store.auditAlone("change_request.decision_refused", actor: .staff(staff.id), subject: subject, ip: ip,
                                       details: ["why": ConflictOfInterest.ownRequest.rawValue], at: now)
            throw ConflictOfInterest.ownRequest.error
        }
        let decided = UserFacingError(code: "change_request_decided", kind: .conflict,
                                      message: LocalizedText("该申请已处理。", "This request has already been decided."))
        try await store.transaction { tx in
            guard let request = try await tx.changeRequests.find(id) else { throw CommonErrors.notFound }
            guard request.accountID != staff.id else { throw CommonErrors.forbidden }
            guard request.state == .pending else { throw decided }
            guard try await !tx.files(of: [id], purpose: Self.proofPurpose).isEmpty else {
                throw UserFacingError(code: "proof_missing", kind: .conflict,
                                      message: LocalizedText("申请人尚未上传证明材料，不能处理。", "The applicant has not uploaded proof yet."))
            }
            guard let account = try await tx.accounts.find(request.accountID) else { throw CommonErrors.notFound }
            // Decided in the statement that checks it is still pending: two staff at once decide it once.
            guard try await tx.changeRequests.decide(id, as: outcome, by: staff.id, note: note.isEmpty ? nil : note, at: now) else { throw decided }
            if outcome == .approved {
                let takenMeanwhile = UserFacingError(code: "already_registered", kind: .conflict,
                                                     message: LocalizedText("该登录名已被其他账号使用，只能驳回。", "Another account has taken this login name; reject the request."))
                switch request.field {
                case .username:
                    if try await tx.accounts.withUsername(request.newValue) != nil { throw takenMeanwhile }
                    do { try await tx.accounts.setUsername(account.id, to: request.newValue, at: now) } catch is DuplicateRow { throw takenMeanwhile }
                case .legalName:
                    try await tx.accounts.setVerifiedIdentity(account.id, legalName: request.newValue, gender: nil, at: now)
                case .gender:
                    try await tx.accounts.setVerifiedIdentity(account.id, legalName: nil, gender: request.newValue, at: now)
                }
            }
            try await tx.audit("change_request.\(outcome.rawValue)", actor: .staff(staff.id), subject: subject, ip: ip,
                               details: ["field": request.field.rawValue, "account": request.accountID.lowercasedText], at: now)
            if let message = Self.notice(for: request, outcome: outcome, note: note, account: account) {
                try await tx.enqueue(message, at: now)
            }
        }
        guard let request = try await store.changeRequests.find(id) else { throw CommonErrors.notFound }
        return try await load(request)
    }

    /// The message telling the applicant about the decision, to a confirmed contact.
    static func notice(for request: ChangeRequest, outcome: ChangeRequestState, note: String, account: Account) -> OutgoingMessage? {
        let lang = account.locale
        let field = request.field.label(lang)
        let text = MessageTemplates.brand(lang) + (outcome == .approved
            ? LocalizedText("您的\(field)变更申请已通过。", "Your request to change your \(field.lowercased()) has been approved.")(lang)
            : LocalizedText("您的\(field)变更申请未通过：\(note)。可修改后重新申请。",
                            "Your request to change your \(field.lowercased()) was not approved: \(note). You may file a new request.")(lang))
        return OutgoingMessage.notice(to: account, template: "change_request_decided",
                                      subject: LocalizedText("变更申请结果", "Your change request")(lang), text: text)
    }
}
