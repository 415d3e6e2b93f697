import Fluent
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
    let database: DatabaseProvider
    var db: any Database { database() }

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        self.context = context
        self.database = database
    }

    var now: Date { context.services.clock.now() }
    var cipher: FieldCipher { context.cipher }

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
        if field == .username, try await AccountRecord.query(on: db).filter(\.$username == newValue).first() != nil {
            throw UserFacingError(code: "already_registered", kind: .conflict,
                                  message: LocalizedText("该登录名已被使用。", "This login name is already taken."), fields: ["newValue": "taken"])
        }
        let now = self.now
        let id = UUID()
        let cipher = self.cipher
        let (value, old) = (newValue, current)
        let record = try await context.writeGate.transaction(on: db) { tx -> ChangeRequestRecord in
            let open = try await ChangeRequestRecord.query(on: tx).filter(\.$accountID == account.id)
                .filter(\.$field == field.rawValue).filter(\.$state == ChangeRequestState.pending.rawValue).first()
            guard open == nil else {
                throw UserFacingError(code: "change_request_open", kind: .conflict,
                                      message: LocalizedText("这一项已有待处理的变更申请，请等待审核结果。",
                                                             "A change request for this field is already waiting for a decision."),
                                      fields: ["field": "change_request_open"])
            }
            let record = ChangeRequestRecord()
            record.id = id
            record.accountID = account.id
            record.field = field.rawValue
            record.newValueSealed = try cipher.seal(value, context: ChangeRequestRecord.context("new_value", id))
            record.oldValueSealed = try old.map { try cipher.seal($0, context: ChangeRequestRecord.context("old_value", id)) }
            record.reasonSealed = try cipher.seal(reason, context: ChangeRequestRecord.context("reason", id))
            record.state = ChangeRequestState.pending.rawValue
            record.createdAt = now
            try await record.create(on: tx)
            try await AuditLog.record("change_request.created", actor: .account(account.id), subject: "change_request:\(id.uuidString.lowercased())",
                                      ip: ip, details: ["field": field.rawValue, "account": account.id.uuidString.lowercased()], at: now, on: tx)
            return record
        }
        return try record.changeRequest(cipher: cipher, proofs: [])
    }

    /// The caller's own change request; another account's is 404.
    func own(_ id: UUID, account: Account) async throws -> ChangeRequest {
        guard let record = try await ChangeRequestRecord.find(id, on: db), record.accountID == account.id else {
            throw CommonErrors.notFound
        }
        return try await load(record)
    }

    /// Loads a request for staff and records that they looked (after `check`, so that a
    /// refused look — an unknown proof — is not recorded as a view).
    func staffView(
        _ id: UUID, action: String, staff: Account, ip: String?, details: [String: String] = [:],
        check: (ChangeRequest) throws -> Void = { _ in }
    ) async throws -> ChangeRequest {
        guard let record = try await ChangeRequestRecord.find(id, on: db) else { throw CommonErrors.notFound }
        let request = try await load(record)
        try check(request)
        try await AuditLog.recordAlone(action, actor: .staff(staff.id), subject: "change_request:\(id.uuidString.lowercased())", ip: ip,
                                       details: details, at: now, gate: context.writeGate, on: db)
        return request
    }

    func load(_ record: ChangeRequestRecord) async throws -> ChangeRequest {
        try await load([record])[0]
    }

    /// Decrypts requests with their proofs, fetched in one query for the whole list.
    func load(_ records: [ChangeRequestRecord]) async throws -> [ChangeRequest] {
        let ids = try records.map { try $0.requireID() }
        let proofs = ids.isEmpty ? [:] : Dictionary(grouping: try await SealedFiles.files(of: ids, purpose: Self.proofPurpose, on: db), by: \.parentID)
        return try records.map { try $0.changeRequest(cipher: cipher, proofs: proofs[try $0.requireID()] ?? []) }
    }

    func list(account: Account) async throws -> [ChangeRequest] {
        try await load(ChangeRequestRecord.query(on: db).filter(\.$accountID == account.id).sort(\.$createdAt, .descending).all())
    }

    /// Staff's list, oldest first (first come, first served).
    func list(state: ChangeRequestState?, limit: Int) async throws -> [ChangeRequest] {
        var query = ChangeRequestRecord.query(on: db).sort(\.$createdAt, .ascending).limit(limit)
        if let state { query = query.filter(\.$state == state.rawValue) }
        return try await load(query.all())
    }

    /// Attaches a proof (JPEG, PNG or PDF by content, at most 5 MB, at most 5 per request).
    func addProof(to id: UUID, account: Account, bytes: Data, ip: String?) async throws -> StoredFile {
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
        let sniffed = try Self.checkProof(bytes)
        let fileID = UUID()
        let files = context.files
        try await files.write(bytes, id: fileID)
        let now = self.now
        do {
            return try await context.writeGate.transaction(on: db) { tx in
                let stored = try await files.record(id: fileID, owner: account.id, purpose: Self.proofPurpose, parent: id, kind: nil,
                                                    sniffed: sniffed, size: bytes.count, at: now, on: tx)
                try await AuditLog.record("change_request.proof_added", actor: .account(account.id),
                                          subject: "change_request:\(id.uuidString.lowercased())", ip: ip,
                                          details: ["file": fileID.uuidString.lowercased(), "contentType": sniffed.format.contentType, "size": String(bytes.count)],
                                          at: now, on: tx)
                return stored
            }
        } catch {
            try? await files.remove(fileID)
            throw error
        }
    }

    /// The proof's format and size, or the refusal naming the `file` field.
    static func checkProof(_ bytes: Data) throws -> SniffedFile {
        try SealedFiles.check(bytes, maxBytes: maxProofBytes)
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
                                          details: ["file": fileID.uuidString.lowercased()]) {
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
        let cipher = self.cipher
        let outbox = Outbox(cipher: cipher)
        let subject = "change_request:\(id.uuidString.lowercased())"
        // Nobody decides their own request; the attempt is recorded (in its own transaction,
        // since the refusal itself changes nothing else).
        if try await ChangeRequestRecord.find(id, on: db)?.accountID == staff.id {
            try await AuditLog.recordAlone("change_request.decision_refused", actor: .staff(staff.id), subject: subject, ip: ip,
                                           details: ["why": ConflictOfInterest.ownRequest.rawValue], at: now, gate: context.writeGate, on: db)
            throw ConflictOfInterest.ownRequest.error
        }
        try await context.writeGate.transaction(on: db) { tx in
            guard let record = try await ChangeRequestRecord.find(id, on: tx) else { throw CommonErrors.notFound }
            guard record.accountID != staff.id else { throw CommonErrors.forbidden }
            guard record.state == ChangeRequestState.pending.rawValue else {
                throw UserFacingError(code: "change_request_decided", kind: .conflict,
                                      message: LocalizedText("该申请已处理。", "This request has already been decided."))
            }
            let proofs = try await StoredFileRecord.query(on: tx).filter(\.$parentID == id).filter(\.$purpose == Self.proofPurpose).count()
            guard proofs > 0 else {
                throw UserFacingError(code: "proof_missing", kind: .conflict,
                                      message: LocalizedText("申请人尚未上传证明材料，不能处理。", "The applicant has not uploaded proof yet."))
            }
            guard let accountRecord = try await AccountRecord.find(record.accountID, on: tx) else { throw CommonErrors.notFound }
            let request = try record.changeRequest(cipher: cipher, proofs: [])
            if outcome == .approved {
                switch request.field {
                case .username:
                    let taken = try await AccountRecord.query(on: tx).filter(\.$username == request.newValue).first()
                    if taken != nil {
                        throw UserFacingError(code: "already_registered", kind: .conflict,
                                              message: LocalizedText("该登录名已被其他账号使用，只能驳回。", "Another account has taken this login name; reject the request."))
                    }
                    accountRecord.username = request.newValue
                case .legalName:
                    accountRecord.legalNameSealed = try cipher.seal(request.newValue, context: AccountRecord.context("legal_name", record.accountID))
                case .gender:
                    accountRecord.gender = request.newValue
                }
                accountRecord.updatedAt = now
                try await accountRecord.save(on: tx)
            }
            record.state = outcome.rawValue
            record.decidedBy = staff.id
            record.decidedAt = now
            record.decisionNoteSealed = note.isEmpty ? nil : try cipher.seal(note, context: ChangeRequestRecord.context("decision_note", id))
            try await record.save(on: tx)
            try await AuditLog.record("change_request.\(outcome.rawValue)", actor: .staff(staff.id), subject: subject, ip: ip,
                                      details: ["field": request.field.rawValue, "account": record.accountID.uuidString.lowercased()], at: now, on: tx)
            let account = try accountRecord.account(cipher: cipher)
            if let message = Self.notice(for: request, outcome: outcome, note: note, account: account) {
                try await outbox.enqueue(message, at: now, on: tx)
            }
        }
        guard let record = try await ChangeRequestRecord.find(id, on: db) else { throw CommonErrors.notFound }
        return try await load(record)
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
