import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// Applications: create, edit while allowed, attach documents, submit (the automatic checks
/// run and decide), the second confirmation, and the sweep that locks accounts whose
/// confirmation ran out and expires verifications. Every state change goes through
/// `CaseMachine`, writes a history row and an audit event, and queues its messages, all in
/// one transaction.
struct CaseService: Sendable {
    let context: ShimingContext
    let db: any Database
    let registries: CaseRegistries

    static let documentPurpose = "case_document"
    static let maxDocuments = 12
    static let numberDomain = "identity_number"

    init(application: Application) {
        context = application.shiming
        db = application.db
        registries = CaseRegistries(context: application.shiming, db: application.db)
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

    // MARK: Input

    /// The body of `POST /cases` and `PATCH /cases/{id}`: in a PATCH, a field left out is kept,
    /// an empty string clears it.
    struct Input: Content {
        var program: String?
        var identity: CaseApplication.Identity?
        var contact: CaseApplication.Contact?
        var school: CaseApplication.School?
        var guardian: CaseApplication.Guardian?
        var organisation: CaseApplication.Organisation?
        /// On create: the caller's verified or expired case this one renews; its details are the
        /// starting point (documents are uploaded afresh).
        var renews: UUID?
        /// On create, "verify once": unless `false`, a new application starts from the caller's
        /// latest verification under another program — the details this program asks for, and
        /// the documents it accepts, copied.
        var prefill: Bool?
    }

    /// Merges the input into the application, refusing what can never be right (values outside
    /// the lists, over-long text, sections the program does not have). Whether the values are
    /// valid documents is for the checks on submit, which list every problem at once.
    static func merge(_ input: Input, into base: CaseApplication, program: Program, today: CivilDate) throws -> CaseApplication {
        var fields: [String: String] = [:]
        var app = base
        func value(_ new: String?, _ old: String?, _ field: String, max: Int = 100) -> String? {
            guard let new else { return old }
            let trimmed = new.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.count > max { fields[field] = "invalid_length" }
            return trimmed.isEmpty ? nil : trimmed
        }
        if let identity = input.identity {
            app.identity.name = value(identity.name.map(PersonalName.compact), app.identity.name, "identity.name", max: 40)
            app.identity.documentType = value(identity.documentType, app.identity.documentType, "identity.documentType")
            app.identity.documentNumber = value(identity.documentNumber, app.identity.documentNumber, "identity.documentNumber", max: 40)
            app.identity.gender = value(identity.gender, app.identity.gender, "identity.gender")
            app.identity.address = value(identity.address, app.identity.address, "identity.address", max: 200)
            if let type = app.identity.documentType, Program.IdentityDocument(rawValue: type) == nil { fields["identity.documentType"] = "invalid_value" }
            if let gender = app.identity.gender, !["male", "female"].contains(gender) { fields["identity.gender"] = "invalid_value" }
            if identity.address != nil, !program.sections.contains(.address) { fields["identity.address"] = "not_in_program" }
        }
        if let contact = input.contact {
            var merged = app.contact ?? .init()
            merged.phone = value(contact.phone, merged.phone, "contact.phone", max: 20)
            merged.email = value(contact.email, merged.email, "contact.email", max: 254)
            app.contact = merged
        }
        if let school = input.school {
            if !program.sections.contains(.school) { fields["school"] = "not_in_program" }
            var merged = app.school ?? .init()
            merged.school = value(school.school, merged.school, "school.school")
            merged.grade = value(school.grade, merged.grade, "school.grade", max: 20)
            merged.class = value(school.class, merged.class, "school.class", max: 20)
            if let year = school.enrolmentYear {
                if year < 1950 || year > today.year + 1 { fields["school.enrolmentYear"] = "invalid_value" }
                merged.enrolmentYear = year
            }
            app.school = merged
        }
        if let guardian = input.guardian {
            if !program.sections.contains(.guardian) { fields["guardian"] = "not_in_program" }
            var merged = app.guardian ?? .init()
            merged.name = value(guardian.name.map(PersonalName.compact), merged.name, "guardian.name", max: 40)
            merged.phone = value(guardian.phone, merged.phone, "guardian.phone", max: 20)
            merged.relation = value(guardian.relation, merged.relation, "guardian.relation", max: 20)
            merged.documentNumber = value(guardian.documentNumber, merged.documentNumber, "guardian.documentNumber", max: 40)
            app.guardian = merged
        }
        if let organisation = input.organisation {
            if !program.sections.contains(.organisation) { fields["organisation"] = "not_in_program" }
            var merged = app.organisation ?? .init()
            merged.name = value(organisation.name, merged.name, "organisation.name", max: 100)
            merged.creditCode = value(organisation.creditCode, merged.creditCode, "organisation.creditCode", max: 30)
            merged.representative = value(organisation.representative.map(PersonalName.compact), merged.representative,
                                          "organisation.representative", max: 40)
            app.organisation = merged
        }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        return app
    }

    /// What the applicant can fix in the fields one page step saves, found when it is saved
    /// (the page refuses the step with them; the API leaves them for the checks on submit,
    /// which list every problem at once): missing values, number rules (length, check
    /// character, birth date, region), name format, gender against the number.
    func stepProblems(_ input: Input, into current: Case, program: Program, fields: Set<String>) throws -> [String: String] {
        let app = try Self.merge(input, into: current.application, program: program, today: today)
        let results = CaseEvaluator(program: program, today: today).localChecks(app, documents: current.uploadedDocuments, guardianConsent: true)
        var problems: [String: String] = [:]
        for result in results where result.disposition == .fix {
            guard let field = result.field, fields.contains(field), problems[field] == nil else { continue }
            problems[field] = result.code
        }
        return problems
    }

    /// The clear columns derived from the application: number index and class scope.
    func derived(_ app: CaseApplication, program: Program) -> (index: String?, school: String?, grade: String?, class: String?) {
        let number = CaseEvaluator(program: program, today: today).identityNumber(app)?.number
        let school = app.school
        return (number.map(numberIndex), school?.school.map(NameMatching.labelKey), school?.grade.map(NameMatching.labelKey),
                school?.class.map(NameMatching.labelKey))
    }

    func seal(_ app: CaseApplication, id: UUID) throws -> String {
        let json = String(decoding: try JSONEncoder().encode(app), as: UTF8.self)
        return try cipher.seal(json, context: CaseRecord.context(id))
    }

    // MARK: Create, edit, read

    func create(account: Account, _ input: Input, ip: String?) async throws -> Case {
        try account.checkMayAct()
        guard let key = input.program?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
            throw AccountError.invalid(["program": "required"])
        }
        guard let program = context.programs[key] else { throw AccountError.invalid(["program": "invalid_value"]) }
        var base = CaseApplication()
        var source: Case?
        if let renews = input.renews {
            guard let earlier = try? await own(renews, account: account), earlier.program == program.key,
                  earlier.state == .verified || earlier.state == .expired else { throw AccountError.invalid(["renews": "invalid_value"]) }
            base = earlier.application
        } else if input.prefill != false, let earlier = try await latestVerification(account: account, other: program.key) {
            base = earlier.application.carried(into: program)
            source = earlier
        }
        let app = try Self.merge(input, into: base, program: program, today: today)
        let id = UUID()
        let now = self.now
        let derived = self.derived(app, program: program)
        let sealed = try seal(app, id: id)
        let copies = try await copyDocuments(of: source, fitting: program)
        do {
            try await insert(id: id, account: account, program: program, sealed: sealed, derived: derived, renews: input.renews,
                             source: source, copies: copies, at: now, ip: ip)
        } catch {
            for copy in copies { try? await context.files.remove(copy.id) }
            throw error
        }
        return try await own(id, account: account)
    }

    /// The accounts whose applications hold a document number (as typed; resident IDs are
    /// normalised first, as the index was built), found through the blind index. The look-up
    /// is audited, without the number.
    func accounts(holdingNumber raw: String, staff: Account, ip: String?) async throws -> [AccountRecord] {
        let compact = raw.uppercased().filter { !$0.isWhitespace }
        let checked = DocumentCheck.check(compact, as: .resident, today: today)
        var normalized = checked.isValid ? checked.normalized ?? compact : compact
        if checked.isValid, checked.type == .residentID15, let upgraded = try? ResidentIDNumber.upgrade(normalized, today: today) { normalized = upgraded }
        let ids = Set(try await CaseRecord.query(on: db).filter(\.$numberIndex == numberIndex(normalized)).all().map(\.accountID))
        let found = ids.isEmpty ? [] : try await AccountRecord.query(on: db).filter(\.$id ~~ Array(ids)).sort(\.$createdAt).all()
        try await AuditLog.recordAlone("account.looked_up_by_number", actor: .staff(staff.id), subject: "staff:\(staff.id.uuidString.lowercased())", ip: ip,
                                       details: ["matches": String(found.count)], at: now, gate: context.writeGate, on: db)
        return found
    }

    /// The account's latest verification under another program (the one "verify once" starts from).
    func latestVerification(account: Account, other program: String) async throws -> Case? {
        guard let record = try await CaseRecord.query(on: db).filter(\.$accountID == account.id).filter(\.$program != program)
            .filter(\.$state == CaseState.verified.rawValue).sort(\.$verifiedAt, .descending).first() else { return nil }
        return try await load(record)
    }

    /// A document copied for a new application: sealed afresh under its own id, not yet recorded.
    struct DocumentCopy: Sendable {
        var id: UUID
        var of: StoredFile
    }

    /// Copies the earlier case's documents that the program accepts as they are (its kinds,
    /// formats, size and legibility rules), so they need not be uploaded again.
    func copyDocuments(of source: Case?, fitting program: Program) async throws -> [DocumentCopy] {
        guard let source else { return [] }
        var copies: [DocumentCopy] = []
        for file in source.documents {
            guard let rule = program.documents.first(where: { $0.kind.rawValue == file.kind }), rule.formats.contains(file.format),
                  file.size <= rule.maxBytes, min(file.width ?? .max, file.height ?? .max) >= rule.minimumShortSide else { continue }
            let copy = DocumentCopy(id: UUID(), of: file)
            do {
                try await context.files.write(try await context.files.read(file), id: copy.id)
            } catch {
                for done in copies { try? await context.files.remove(done.id) }
                throw error
            }
            copies.append(copy)
        }
        return copies
    }

    func insert(id: UUID, account: Account, program: Program, sealed: String, derived: (index: String?, school: String?, grade: String?, class: String?),
                renews: UUID?, source: Case?, copies: [DocumentCopy], at now: Date, ip: String?) async throws {
        let files = context.files
        try await context.writeGate.transaction(on: db) { tx in
            let record = CaseRecord()
            record.id = id
            record.accountID = account.id
            record.program = program.key
            record.state = CaseState.draft.rawValue
            record.dataSealed = sealed
            record.numberIndex = derived.index
            record.scopeSchool = derived.school
            record.scopeGrade = derived.grade
            record.scopeClass = derived.class
            record.confirmationAttempts = 0
            record.createdAt = now
            record.updatedAt = now
            record.version = 1
            try await record.create(on: tx)
            try await Self.writeTransition(record, action: "create", from: nil, to: .draft, actor: .account(account.id), rule: nil, at: now, seq: 0, on: tx)
            for copy in copies {
                let file = copy.of
                _ = try await files.record(id: copy.id, owner: account.id, purpose: Self.documentPurpose, parent: id, kind: file.kind,
                                           sniffed: SniffedFile(format: file.format, width: file.width, height: file.height), size: file.size,
                                           at: now, on: tx)
            }
            var details = ["program": program.key]
            details["renews"] = renews?.uuidString.lowercased()
            if let source {
                details["prefilledFrom"] = source.id.uuidString.lowercased()
                details["documentsReused"] = String(copies.count)
            }
            try await AuditLog.record("case.created", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: details, at: now, on: tx)
        }
    }

    /// Edits a case while it is editable. A case waiting for review that is edited goes
    /// through the automatic checks again (P4: a typing error fixed by the student can then
    /// match the roll without a teacher).
    func update(_ id: UUID, account: Account, _ input: Input, ip: String?) async throws -> Case {
        try account.checkMayAct()
        if input.program != nil { throw AccountError.invalid(["program": "field_locked"]) }
        if input.prefill != nil || input.renews != nil { throw AccountError.invalid([input.prefill != nil ? "prefill" : "renews": "field_locked"]) }
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        let program = try program(current.program)
        let app = try Self.merge(input, into: current.application, program: program, today: today)
        let now = self.now
        let derived = self.derived(app, program: program)
        let sealed = try seal(app, id: id)
        let changed = app != current.application
        try await context.writeGate.transaction(on: db) { tx in
            let record = try await Self.locked(id, version: current.version, on: tx)
            guard let state = CaseState(rawValue: record.state), state.isEditable else { throw Self.notEditable(current.state) }
            record.dataSealed = sealed
            if record.numberIndex != derived.index {
                record.guardianConsentAt = nil  // consent was given for the child the old number named
            }
            record.numberIndex = derived.index
            record.scopeSchool = derived.school
            record.scopeGrade = derived.grade
            record.scopeClass = derived.class
            record.updatedAt = now
            record.version += 1
            try await record.save(on: tx)
            try await AuditLog.record("case.updated", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: ["state": record.state, "changed": changed ? "yes" : "no"], at: now, on: tx)
        }
        if changed, current.state == .needsReview {
            return try await submit(id, account: account, ip: ip)
        }
        return try await own(id, account: account)
    }

    static func notEditable(_ state: CaseState) -> UserFacingError {
        UserFacingError(code: "case_not_editable", kind: .conflict,
                        message: LocalizedText("申请当前状态为「\(state.label.zh)」，不能修改。", "The application is \(state.label.en.lowercased()) and cannot be changed."))
    }

    /// The record, re-read inside a transaction, if nobody changed it since `version`.
    static func locked(_ id: UUID, version: Int, on tx: any Database) async throws -> CaseRecord {
        guard let record = try await CaseRecord.find(id, on: tx) else { throw HTTPFailure.error(for: .notFound) }
        guard record.version == version else {
            throw UserFacingError(code: "case_changed", kind: .conflict,
                                  message: LocalizedText("申请刚被修改过，请刷新后重试。", "The application was changed meanwhile; reload and try again."))
        }
        return record
    }

    /// The caller's own case; another account's is 404 (API.md: no existence leak).
    func own(_ id: UUID, account: Account) async throws -> Case {
        guard let record = try await CaseRecord.find(id, on: db), record.accountID == account.id else {
            throw HTTPFailure.error(for: .notFound)
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

    // MARK: Documents

    /// Stores a document (JPEG, PNG or PDF by content, within the program's size limit for
    /// that kind), sealed. With `replace`, earlier documents of the same kind are removed.
    /// A picture too small to read is refused here, with the size it needs, so the applicant
    /// learns it at the upload and not after submitting.
    func addDocument(to id: UUID, account: Account, kind rawKind: String?, bytes: Data, replace: Bool, ip: String?) async throws -> StoredFile {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        let program = try program(current.program)
        guard let rawKind, !rawKind.isEmpty else { throw AccountError.invalid(["kind": "required"]) }
        guard let kind = Program.DocumentKind(rawValue: rawKind), let rule = program.documents.first(where: { $0.kind == kind }) else {
            throw AccountError.invalid(["kind": "invalid_value"])
        }
        let sniffed = try SealedFiles.check(bytes, maxBytes: rule.maxBytes, minimumShortSide: 0)
        guard rule.formats.contains(sniffed.format) else {
            throw UserFacingError(code: "unsupported_file_type", kind: .invalidInput,
                                  message: LocalizedText("这里只接受 \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) 文件。",
                                                         "Only \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) files are accepted here."),
                                  fields: ["file": "unsupported_file_type"])
        }
        if let width = sniffed.width, let height = sniffed.height, min(width, height) < rule.minimumShortSide {
            let result = CheckResult.fix("documents", "document_illegible", field: "documents.\(kind.rawValue)", detail: String(rule.minimumShortSide))
            throw UserFacingError(code: "document_illegible", kind: .invalidInput, message: result.reason, fields: ["file": "document_illegible"])
        }
        let replaced = replace ? current.documents.filter { $0.kind == kind.rawValue } : []
        guard current.documents.count - replaced.count < Self.maxDocuments else {
            throw UserFacingError(code: "too_many_files", kind: .invalidInput,
                                  message: LocalizedText("每个申请最多上传 \(Self.maxDocuments) 份材料。", "At most \(Self.maxDocuments) files per application."),
                                  fields: ["file": "too_many_files"])
        }
        let fileID = UUID()
        let files = context.files
        try await files.write(bytes, id: fileID)
        let now = self.now
        let stored: StoredFile
        do {
            stored = try await context.writeGate.transaction(on: db) { tx in
                let record = try await Self.locked(id, version: current.version, on: tx)
                record.updatedAt = now
                record.version += 1
                try await record.save(on: tx)
                let replacedIDs = replaced.map(\.id)
                if !replacedIDs.isEmpty { try await StoredFileRecord.query(on: tx).filter(\.$id ~~ replacedIDs).delete() }
                let stored = try await files.record(id: fileID, owner: account.id, purpose: Self.documentPurpose, parent: id, kind: kind.rawValue,
                                                    sniffed: sniffed, size: bytes.count, at: now, on: tx)
                var details = ["file": fileID.uuidString.lowercased(), "kind": kind.rawValue, "contentType": sniffed.format.contentType, "size": String(bytes.count)]
                if !replacedIDs.isEmpty { details["replaced"] = replacedIDs.map { $0.uuidString.lowercased() }.joined(separator: ",") }
                try await AuditLog.record("case.document_added", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                          details: details, at: now, on: tx)
                return stored
            }
        } catch {
            try? await files.remove(fileID)
            throw error
        }
        for file in replaced { try? await files.remove(file.id) }
        return stored
    }

    func removeDocument(_ fileID: UUID, from id: UUID, account: Account, ip: String?) async throws {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        guard current.documents.contains(where: { $0.id == fileID }) else { throw HTTPFailure.error(for: .notFound) }
        let now = self.now
        try await context.writeGate.transaction(on: db) { tx in
            let record = try await Self.locked(id, version: current.version, on: tx)
            record.updatedAt = now
            record.version += 1
            try await record.save(on: tx)
            try await StoredFileRecord.query(on: tx).filter(\.$id == fileID).delete()
            try await AuditLog.record("case.document_removed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: ["file": fileID.uuidString.lowercased()], at: now, on: tx)
        }
        try? await context.files.remove(fileID)
    }

    func document(_ fileID: UUID, of item: Case) async throws -> (StoredFile, Data) {
        guard let file = item.documents.first(where: { $0.id == fileID }) else { throw HTTPFailure.error(for: .notFound) }
        return (file, try await context.files.read(file))
    }

    // MARK: Submit and the automatic checks

    /// Submits the case: the automatic checks run and decide (approved → confirmation or
    /// verified; returned with every reason; or needs review). Too many submissions within the
    /// program's window → 429 with the time it may be tried again, and nothing changes.
    func submit(_ id: UUID, account: Account, ip: String?) async throws -> Case {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        do { _ = try CaseMachine.next(current.state, on: .submit) } catch { throw Self.transitionError(error) }
        let program = try program(current.program)
        let evaluator = CaseEvaluator(program: program, today: today)
        // What is missing is said now and costs no submission.
        let missing = evaluator.missing(current.application, documents: current.uploadedDocuments)
        if !missing.isEmpty { throw Self.incomplete(missing) }
        let isNew = current.state == .draft
        do {
            _ = try await checkFrequency(account: account, program: program, isNew: isNew, on: db)
        } catch let refusal as UserFacingError {
            try await RiskAlertService.raiseAlone(.rateLimited, subject: "account:\(account.id.uuidString.lowercased())", program: program.key,
                                                  details: ["limit": "application_limit"], at: now, gate: context.writeGate, on: db)
            throw refusal
        }

        let local = localChecks(current, account: account, evaluator: evaluator)
        var registry: RegistryAnswer?
        if !CaseEvaluator.needsFixing(local), program.checks.contains(.registry), let number = evaluator.identityNumber(current.application) {
            // Outside the transaction: a remote service may take seconds.
            registry = await registries.answer(program: program, application: current.application, number: number.number)
        }
        let now = self.now
        let hasRegistry = program.checks.contains(.registry)
        try await context.writeGate.transaction(on: db) { [self, registry] tx in
            let record = try await Self.locked(id, version: current.version, on: tx)
            let used = try await checkFrequency(account: account, program: program, isNew: isNew, on: tx)
            var duplicate: Bool?
            if let index = record.numberIndex {
                let holding = CaseState.allCases.filter(\.holdsIdentity).map(\.rawValue)
                duplicate = try await CaseRecord.query(on: tx).filter(\.$numberIndex == index).filter(\.$accountID != account.id)
                    .filter(\.$state ~~ holding).first() != nil
            }
            var (checks, decision) = evaluator.decide(local: local, duplicate: duplicate, registry: hasRegistry ? registry : nil)
            if let used, let index = checks.firstIndex(where: { $0.check == "frequency" }) {
                // "used/limit/days"; a resubmission ("r…") is not one of them.
                checks[index].detail = "\(isNew ? "" : "r")\(used)/\(program.applicationLimit.count)/\(program.applicationLimit.days)"
            }
            if hasRegistry, registry == nil, decision.outcome != .returned {
                // The number could not be looked up: a person decides.
                checks.append(.review("registry", "registry_unavailable"))
                decision = AutomaticDecision(outcome: .needsReview, rule: "checks.review", reasons: decision.reasons + ["registry_unavailable"])
            }
            try await ReviewTasks.cancelOpen(caseID: id, at: now, on: tx)
            if duplicate == true {
                try await RiskAlertService.raise(.duplicateIdentity, subject: Self.subject(id), program: program.key,
                                                 details: ["check": "duplicate"], at: now, on: tx)
            }
            if let failed = checks.first(where: { $0.check == "registry" && !$0.passed && $0.code != "registry_unavailable" }) {
                try await RiskAlertService.raise(.failedVerification, subject: Self.subject(id), program: program.key,
                                                 details: ["check": "registry", "code": failed.code], at: now, on: tx)
            }
            var seq = try await Self.nextSeq(id, on: tx)
            let actor = AuditActor.account(account.id)
            // The applicant submits; the machine checks and decides.
            try await apply(.submit, to: record, actor: actor, rule: nil, at: now, seq: &seq, on: tx)
            try await apply(.startChecks, to: record, actor: .system, rule: nil, at: now, seq: &seq, on: tx)
            try await apply(.checked(decision.outcome), to: record, actor: .system, rule: decision.rule, at: now, seq: &seq, on: tx)
            record.checksJSON = try Self.json(checks)
            record.decisionJSON = try Self.json(CaseDecision(outcome: decision.outcome.rawValue, rule: decision.rule, reasons: decision.reasons,
                                                             decidedBy: "system", decidedAt: now))
            record.submittedAt = now
            try await AuditLog.record("case.submitted", actor: actor, subject: Self.subject(id), ip: ip,
                                      details: ["program": program.key], at: now, on: tx)
            try await AuditLog.record("case.checked", actor: .system, subject: Self.subject(id), ip: nil,
                                      details: ["outcome": decision.outcome.rawValue, "rule": decision.rule,
                                                "reasons": decision.reasons.joined(separator: ",")], at: now, on: tx)
            switch decision.outcome {
            case .approved:
                try await completeApproval(record, program: program, account: account, actor: .system, at: now, seq: &seq, on: tx)
            case .returned:
                try await notify(account, template: "case_returned", text: Notices.returned(program: program, lang: account.locale), on: tx)
            case .needsReview:
                try await ReviewTasks.open(for: record, application: current.application, applicant: account, program: program,
                                           reason: decision.rule, context: context, at: now, on: tx)
            }
            record.updatedAt = now
            record.version += 1
            try await record.save(on: tx)
        }
        return try await own(id, account: account)
    }

    /// The checks that need no I/O (also shown before submitting, on the last step of the form).
    func localChecks(_ item: Case, account: Account, evaluator: CaseEvaluator) -> [CheckResult] {
        let consent = item.guardianConsentAt != nil || Self.registrationConsent(account: account, application: item.application)
        return evaluator.localChecks(item.application, documents: item.uploadedDocuments, guardianConsent: consent)
    }

    /// P4: a student registered with the guardian's phone, and the registration code sent
    /// there carried the consent text; entering it was the guardian's consent.
    static func registrationConsent(account: Account, application: CaseApplication) -> Bool {
        guard account.guardianPhoneConfirmed, let registered = account.guardianPhone,
              let given = application.guardian?.phone, let phone = try? MobileNumber.validate(given) else { return false }
        return phone == registered
    }

    /// Refuses with 429 when the account has used up the program's new applications for the
    /// window; otherwise the number of new applications the window holds with this one. Only a
    /// draft's first submission counts: sending back what a reviewer or the checks returned,
    /// or a pending case edited, is the same application.
    func checkFrequency(account: Account, program: Program, isNew: Bool, on db: any Database) async throws -> Int? {
        guard program.checks.contains(.frequency) else { return nil }
        let limit = program.applicationLimit
        let window = TimeInterval(limit.days) * 24 * 3600
        let since = now.addingTimeInterval(-window)
        let recent = try await CaseTransitionRecord.query(on: db).filter(\.$accountID == account.id).filter(\.$program == program.key)
            .filter(\.$action == CaseAction.submit.name).filter(\.$fromState == CaseState.draft.rawValue).filter(\.$at > since)
            .sort(\.$at, .ascending).all()
        guard isNew, recent.count >= limit.count, let oldest = recent.first else { return recent.count + (isNew ? 1 : 0) }
        let retry = oldest.at.addingTimeInterval(window)
        let seconds = Int(retry.timeIntervalSince(now).rounded(.up))
        let when = AccountService.chinaTime(retry)
        throw UserFacingError(
            code: "application_limit", kind: .rateLimited(retryAfterSeconds: max(1, seconds)),
            message: LocalizedText("\(limit.days) 天内最多提交 \(limit.count) 次新申请，请于 \(when) 后再试。",
                                   "At most \(limit.count) new applications in \(limit.days) days; try again after \(when).")
        )
    }

    /// The refusal of a submission with required fields or documents missing (422, each named).
    static func incomplete(_ missing: [String]) -> UserFacingError {
        let zh = missing.map { CheckReasons.fieldLabel($0).zh }.joined(separator: "、")
        let en = missing.map { CheckReasons.fieldLabel($0).en.lowercased() }.joined(separator: ", ")
        return UserFacingError(code: "application_incomplete", kind: .invalidInput,
                               message: LocalizedText("还有必填内容没有填写：\(zh)。请补充后再提交，这次不计入提交次数。",
                                                      "Required parts are missing: \(en). Complete them and submit again; this attempt does not count."),
                               fields: Dictionary(uniqueKeysWithValues: missing.map { ($0, "required") }))
    }

    /// Moves the record by one action, writing the history row.
    func apply(_ action: CaseAction, to record: CaseRecord, actor: AuditActor, rule: String?, at now: Date, seq: inout Int, on tx: any Database) async throws {
        let from = CaseState(rawValue: record.state) ?? .draft
        let to: CaseState
        do { to = try CaseMachine.next(from, on: action) } catch { throw Self.transitionError(error) }
        record.state = to.rawValue
        try await Self.writeTransition(record, action: action.name, from: from, to: to, actor: actor, rule: rule, at: now, seq: seq, on: tx)
        seq += 1
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

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func subject(_ id: UUID) -> String { "case:\(id.uuidString.lowercased())" }

    // MARK: Approval, confirmation, verification

    /// An approved case either waits for the second confirmation code (sent now) or is verified.
    func completeApproval(_ record: CaseRecord, program: Program, account: Account, actor: AuditActor, at now: Date, seq: inout Int,
                          on tx: any Database) async throws {
        if let confirmation = program.confirmation {
            try await apply(.awaitConfirmation, to: record, actor: actor, rule: "program.confirmation", at: now, seq: &seq, on: tx)
            try await sendConfirmation(record, minutes: confirmation.minutes, account: account, at: now, on: tx)
        } else {
            try await verify(record, program: program, account: account, actor: actor, at: now, seq: &seq, on: tx)
        }
    }

    func sendConfirmation(_ record: CaseRecord, minutes: Int, account: Account, at now: Date, on tx: any Database) async throws {
        let id = try record.requireID()
        let code = OneTimeCodePolicy().generate(using: context.services.random)
        record.confirmationHash = secrets.hash("case_confirmation", id.uuidString.lowercased(), code)
        record.confirmationExpiresAt = now.addingTimeInterval(TimeInterval(minutes) * 60)
        record.confirmationAttempts = 0
        try await notify(account, template: "case_confirmation", text: Notices.confirmation(code: code, minutes: minutes, lang: account.locale),
                         code: code, on: tx)
        try await AuditLog.record("case.confirmation_sent", actor: .system, subject: Self.subject(id), ip: nil,
                                  details: ["minutes": String(minutes)], at: now, on: tx)
    }

    func verify(_ record: CaseRecord, program: Program, account: Account, actor: AuditActor, at now: Date, seq: inout Int,
                on tx: any Database) async throws {
        try await apply(.verify, to: record, actor: actor, rule: program.confirmation == nil ? "checks.approved" : "confirmation.entered",
                        at: now, seq: &seq, on: tx)
        record.verifiedAt = now
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        if let months = program.reverificationMonths {
            record.expiresAt = Calendar(identifier: .gregorian).date(byAdding: .month, value: months, to: now)
        }
        if program.issuesIdentityCode, let index = record.numberIndex {
            record.identityCode = try await identityCode(for: index, account: account.id, at: now, on: tx)
        }
        // A renewal replaces the verification it renews: that one ends now, without a notice.
        let id = try record.requireID()
        let renewed = try await CaseRecord.query(on: tx).filter(\.$accountID == account.id).filter(\.$program == program.key)
            .filter(\.$state == CaseState.verified.rawValue).filter(\.$id != id).all()
        for earlier in renewed {
            var earlierSeq = try await Self.nextSeq(try earlier.requireID(), on: tx)
            try await apply(.expire, to: earlier, actor: actor, rule: "program.renewed", at: now, seq: &earlierSeq, on: tx)
            earlier.version += 1
            earlier.updatedAt = now
            try await earlier.save(on: tx)
            try await AuditLog.record("case.expired", actor: actor, subject: Self.subject(try earlier.requireID()), ip: nil,
                                      details: ["renewedBy": id.uuidString.lowercased()], at: now, on: tx)
        }
        let profile = try await takeVerifiedDetails(record, program: program, account: account.id, at: now, on: tx)
        try await AuditLog.record("case.verified", actor: actor, subject: Self.subject(try record.requireID()), ip: nil,
                                  details: ["program": program.key, "identityCode": record.identityCode ?? "",
                                            "profile": profile.joined(separator: ",")], at: now, on: tx)
        try await notify(account, template: "case_verified",
                         text: Notices.verified(program: program, code: record.identityCode, lang: account.locale), on: tx)
    }

    /// The verified name and gender become the account's (the profile shows them, masked, and
    /// change requests start from them). Returns what changed, for the audit event.
    func takeVerifiedDetails(_ record: CaseRecord, program: Program, account id: UUID, at now: Date, on tx: any Database) async throws -> [String] {
        guard let holder = try await AccountRecord.find(id, on: tx), holder.kind == Account.Kind.applicant.rawValue else { return [] }
        let app = try application(of: record)
        var changed: [String] = []
        if let name = app.identity.name {
            let current = try holder.legalNameSealed.map { try cipher.open($0, context: AccountRecord.context("legal_name", id)) }
            if current != name {
                holder.legalNameSealed = try cipher.seal(name, context: AccountRecord.context("legal_name", id))
                changed.append("legal_name")
            }
        }
        let facts = CaseEvaluator(program: program, today: today).identityNumber(app)?.facts
        if let gender = app.identity.gender ?? facts?.gender.rawValue, holder.gender != gender {
            holder.gender = gender
            changed.append("gender")
        }
        if !changed.isEmpty {
            holder.updatedAt = now
            try await holder.save(on: tx)
        }
        return changed
    }

    /// The person's identity code: the one they already have, or a new random one.
    func identityCode(for index: String, account: UUID, at now: Date, on tx: any Database) async throws -> String {
        if let existing = try await IdentityCodeRecord.query(on: tx).filter(\.$numberIndex == index).first() {
            return try existing.requireID()
        }
        for _ in 0..<8 {
            let code = IdentityCode.generate(using: context.services.random)
            guard try await IdentityCodeRecord.find(code, on: tx) == nil else { continue }
            let record = IdentityCodeRecord()
            record.id = code
            record.numberIndex = index
            record.accountID = account
            record.issuedAt = now
            try await record.create(on: tx)
            return code
        }
        throw UserFacingError(code: "identity_code_exhausted", kind: .conflict,
                              message: LocalizedText("暂时无法生成识别码，请稍后重试。", "No identity code could be drawn; try again."))
    }

    func notify(_ account: Account, template: String, text: String, code: String? = nil, on tx: any Database) async throws {
        let subject = LocalizedText("实名认证通知", "Your identity verification")(account.locale)
        guard let message = OutgoingMessage.notice(to: account, template: template, subject: subject,
                                                   text: MessageTemplates.brand(account.locale) + text, code: code) else { return }
        _ = try await Outbox(cipher: cipher).enqueue(message, at: now, on: tx)
    }

    enum ConfirmOutcome: Sendable {
        case verified
        case wrong(remaining: Int)
        case locked
    }

    /// The second confirmation (P1): the right code in time verifies the case; a code entered
    /// too late, or too many wrong codes, lock the account until staff unlock it.
    func confirm(_ id: UUID, account: Account, code: String?, ip: String?) async throws -> Case {
        try account.checkMayAct()
        guard let code = code?.trimmingCharacters(in: .whitespaces), !code.isEmpty else { throw AccountError.invalid(["code": "required"]) }
        let current = try await own(id, account: account)
        guard current.state == .awaitingConfirmation else {
            throw Self.transitionError(CaseTransitionError(from: current.state, action: CaseAction.verify.name))
        }
        let program = try program(current.program)
        let maxAttempts = program.confirmation?.maxAttempts ?? 5
        let now = self.now
        let expected = secrets.hash("case_confirmation", id.uuidString.lowercased(), code)
        let outcome = try await context.writeGate.transaction(on: db) { [self] tx -> ConfirmOutcome in
            let record = try await Self.locked(id, version: current.version, on: tx)
            guard let hash = record.confirmationHash, let expires = record.confirmationExpiresAt else {
                throw AccountError.codeExpired
            }
            if expires <= now {
                try await lockForConfirmation(record, account: account, why: "confirmation_timeout", at: now, on: tx)
                return .locked
            }
            record.version += 1
            record.updatedAt = now
            if SecretHasher.equal(hash, expected) {
                var seq = try await Self.nextSeq(id, on: tx)
                try await verify(record, program: program, account: account, actor: .account(account.id), at: now, seq: &seq, on: tx)
                try await record.save(on: tx)
                return .verified
            }
            record.confirmationAttempts += 1
            try await AuditLog.record("case.confirmation_failed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: ["attempts": String(record.confirmationAttempts)], at: now, on: tx)
            if record.confirmationAttempts >= maxAttempts {
                try await lockForConfirmation(record, account: account, why: "confirmation_attempts", at: now, on: tx)
                return .locked
            }
            try await record.save(on: tx)
            return .wrong(remaining: maxAttempts - record.confirmationAttempts)
        }
        switch outcome {
        case .verified: return try await own(id, account: account)
        case .wrong(let remaining):
            throw UserFacingError(code: "invalid_code", kind: .invalidInput,
                                  message: LocalizedText("验证码不正确，还可以再试 \(remaining) 次。", "The code is not correct; \(remaining) more tries."),
                                  fields: ["code": "invalid"])
        case .locked: throw Self.confirmationLocked
        }
    }

    static let confirmationLocked = UserFacingError(
        code: "account_locked", kind: .forbidden,
        message: LocalizedText("未在规定时间内正确输入确认码，为保护您的信息，账号已锁定。请联系管理员解锁。",
                               "The confirmation code was not entered correctly in time; the account is locked to protect your data. Ask an administrator to unlock it.")
    )

    /// Locks the applicant's account because the confirmation failed (P1), in the caller's transaction.
    func lockForConfirmation(_ record: CaseRecord, account: Account, why: String, at now: Date, on tx: any Database) async throws {
        let id = try record.requireID()
        record.confirmationHash = nil
        record.confirmationExpiresAt = nil
        record.version += 1
        record.updatedAt = now
        try await record.save(on: tx)
        guard let accountRecord = try await AccountRecord.find(record.accountID, on: tx) else { return }
        if accountRecord.status != AccountStatus.locked.rawValue {
            accountRecord.status = AccountStatus.locked.rawValue
            accountRecord.statusReason = why
            accountRecord.updatedAt = now
            try await accountRecord.save(on: tx)
        }
        try await AuditLog.record("account.locked", actor: .system, subject: "account:\(record.accountID.uuidString.lowercased())", ip: nil,
                                  details: ["why": why, "case": id.uuidString.lowercased()], at: now, on: tx)
        try await RiskAlertService.raise(.failedVerification, subject: Self.subject(id), program: record.program,
                                         details: ["check": "confirmation", "code": why], at: now, on: tx)
        try await notify(account, template: "account_locked", text: Notices.locked(lang: account.locale), on: tx)
    }

    /// A new confirmation code, when the last one ran out or was used up (after staff unlocked
    /// the account), or a minute after it was sent.
    func resendConfirmation(_ id: UUID, account: Account, ip: String?) async throws -> Case {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state == .awaitingConfirmation else {
            throw Self.transitionError(CaseTransitionError(from: current.state, action: "resend_confirmation"))
        }
        let program = try program(current.program)
        let minutes = program.confirmation?.minutes ?? 30
        let now = self.now
        if let expires = current.confirmationExpiresAt, expires > now {
            let sent = expires.addingTimeInterval(-TimeInterval(minutes) * 60)
            let wait = 60 - now.timeIntervalSince(sent)
            if wait > 0 { throw AccountError.rateLimited(seconds: Int(wait.rounded(.up))) }
        }
        try await context.writeGate.transaction(on: db) { [self] tx in
            let record = try await Self.locked(id, version: current.version, on: tx)
            try await sendConfirmation(record, minutes: minutes, account: account, at: now, on: tx)
            record.version += 1
            record.updatedAt = now
            try await record.save(on: tx)
        }
        return try await own(id, account: account)
    }

    // MARK: Guardian consent (PIPL art. 31)

    /// Sends the consent text with a code to the guardian's phone named in the case.
    func requestGuardianConsent(_ id: UUID, account: Account, lang: Lang, ip: String?) async throws {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        guard let raw = current.application.guardian?.phone else { throw AccountError.invalid(["guardian.phone": "required"]) }
        let phone: String
        do throws(DocumentError) { phone = try MobileNumber.validate(raw) } catch { throw AccountError.invalid(["guardian.phone": error.rawValue]) }
        let index = context.blindIndex.index(phone, domain: "phone")
        let now = self.now
        let codes = self.codes
        try await codes.checkLimits(destinationIndex: index, ip: ip, now: now, on: db)
        try await context.writeGate.transaction(on: db) { [self] tx in
            let code = try await codes.issue(channel: "sms", destinationIndex: index, purpose: "guardian_consent:\(id.uuidString.lowercased())",
                                             accountID: account.id, ip: ip, now: now, on: tx)
            let text = MessageTemplates.brand(lang) + Notices.guardianConsent(code: code, minutes: Int(codes.policy.lifetime / 60), lang: lang)
            _ = try await Outbox(cipher: cipher).enqueue(OutgoingMessage(channel: .sms, to: phone, template: "guardian_consent", text: text, code: code),
                                                         at: now, on: tx)
            try await AuditLog.record("case.guardian_consent_requested", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      at: now, on: tx)
        }
    }

    /// Records the guardian's consent when the code from their phone is entered.
    func confirmGuardianConsent(_ id: UUID, account: Account, code: String?, ip: String?) async throws -> Case {
        try account.checkMayAct()
        guard let code, !code.isEmpty else { throw AccountError.invalid(["code": "required"]) }
        let current = try await own(id, account: account)
        guard let raw = current.application.guardian?.phone, let phone = try? MobileNumber.validate(raw) else {
            throw AccountError.invalid(["guardian.phone": "required"])
        }
        let index = context.blindIndex.index(phone, domain: "phone")
        let now = self.now
        let codes = self.codes
        let check = try await context.writeGate.transaction(on: db) { tx -> CodeService.Check in
            let check = try await codes.check(code: code, destinationIndexes: [index], purpose: "guardian_consent:\(id.uuidString.lowercased())",
                                              now: now, on: tx)
            guard case .accepted = check else { return check }
            let record = try await Self.locked(id, version: current.version, on: tx)
            record.guardianConsentAt = now
            record.version += 1
            record.updatedAt = now
            try await record.save(on: tx)
            try await AuditLog.record("case.guardian_consented", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                                      details: ["guardianPhone": MobileNumber.mask(phone)], at: now, on: tx)
            return check
        }
        switch check {
        case .accepted: return try await own(id, account: account)
        case .wrong: throw AccountError.invalidCode
        case .expired: throw AccountError.codeExpired
        }
    }

    // MARK: Sweep

    /// What one sweep changed. The sweep is run by the background worker; tests call it with a set clock.
    struct SweepResult: Sendable, Equatable {
        var locked = 0, reminded = 0, expired = 0
        var total: Int { locked + reminded + expired }
    }

    /// The timed changes: accounts whose second confirmation ran out are locked, holders of a
    /// verification that runs out within the program's reminder days are told once, and
    /// verifications past their date expire (the holder is told). A case another instance
    /// changed meanwhile is skipped; the next sweep sees it again.
    func sweep() async throws -> SweepResult {
        let now = self.now
        var result = SweepResult()
        let overdue = try await CaseRecord.query(on: db).filter(\.$state == CaseState.awaitingConfirmation.rawValue)
            .filter(\.$confirmationExpiresAt < now).limit(500).all()
        result.locked = try await forEach(overdue) { [self] record, account, _, tx in
            try await lockForConfirmation(record, account: account, why: "confirmation_timeout", at: now, on: tx)
        }
        // The longest reminder a program may ask for is 90 days; each case is held to its own program's.
        let soon = try await CaseRecord.query(on: db).filter(\.$state == CaseState.verified.rawValue)
            .filter(\.$remindedAt == nil).filter(\.$expiresAt >= now).filter(\.$expiresAt < now.addingTimeInterval(90 * 86_400))
            .limit(500).all()
            .filter { record in
                guard let program = context.programs[record.program], let expiresAt = record.expiresAt else { return false }
                return expiresAt < now.addingTimeInterval(Double(program.reverificationReminderDays) * 86_400)
            }
        result.reminded = try await forEach(soon) { [self] record, account, program, tx in
            record.remindedAt = now
            try await record.save(on: tx)
            try await AuditLog.record("case.renewal_reminded", actor: .system, subject: Self.subject(try record.requireID()), ip: nil,
                                      details: ["expiresAt": Self.day(record.expiresAt ?? now)], at: now, on: tx)
            if let program {
                try await notify(account, template: "case_renewal_due",
                                 text: Notices.renewalDue(program: program, on: record.expiresAt ?? now, lang: account.locale), on: tx)
            }
        }
        let due = try await CaseRecord.query(on: db).filter(\.$state == CaseState.verified.rawValue).filter(\.$expiresAt < now).limit(500).all()
        result.expired = try await forEach(due) { [self] record, account, program, tx in
            var seq = try await Self.nextSeq(try record.requireID(), on: tx)
            try await apply(.expire, to: record, actor: .system, rule: "program.reverification", at: now, seq: &seq, on: tx)
            record.version += 1
            record.updatedAt = now
            try await record.save(on: tx)
            try await AuditLog.record("case.expired", actor: .system, subject: Self.subject(try record.requireID()), at: now, on: tx)
            if let program {
                try await notify(account, template: "case_expired", text: Notices.expired(program: program, lang: account.locale), on: tx)
            }
        }
        return result
    }

    /// Runs `change` for each candidate in its own transaction, on the case re-read at the
    /// version the candidate had; returns how many were changed.
    private func forEach(_ candidates: [CaseRecord],
                         _ change: @escaping @Sendable (CaseRecord, Account, Program?, any Database) async throws -> Void) async throws -> Int {
        var changed = 0
        for candidate in candidates {
            let id = try candidate.requireID()
            guard let accountRecord = try await AccountRecord.find(candidate.accountID, on: db) else { continue }
            let account = try accountRecord.account(cipher: cipher)
            let program = context.programs[candidate.program]
            do {
                try await context.writeGate.transaction(on: db) { tx in
                    try await change(try await Self.locked(id, version: candidate.version, on: tx), account, program, tx)
                }
                changed += 1
            } catch let error as UserFacingError where error.code == "case_changed" {
                continue
            }
        }
        return changed
    }

    static var chinaCalendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai")!
        return calendar
    }

    static func day(_ date: Date) -> String {
        let parts = chinaCalendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }

    /// The start of a day given as `yyyy-MM-dd`, China time; nil when it is no such day.
    static func startOfDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: chinaCalendar) else { return nil }
        return chinaCalendar.date(from: components)
    }
}

/// The texts of the messages about cases.
enum Notices {
    static func returned(program: Program, lang: Lang) -> String {
        LocalizedText("您的「\(program.title.zh)」申请需要修改，请登录查看原因并重新提交。",
                      "Your \(program.title.en) application needs corrections; sign in to see why and submit again.")(lang)
    }

    static func confirmation(code: String, minutes: Int, lang: Lang) -> String {
        LocalizedText("您的实名认证已审核通过。确认码 \(code)，请在 \(minutes) 分钟内登录“我的实名认证”输入，即可完成认证。",
                      "Your verification was approved. Confirmation code \(code): sign in and enter it under “My verifications” within \(minutes) minutes to finish.")(lang)
    }

    static func verified(program: Program, code: String?, lang: Lang) -> String {
        let suffix = code.map { LocalizedText("您的身份识别码：\(IdentityCode.format($0))。", " Your identity code: \(IdentityCode.format($0)).")(lang) } ?? ""
        return LocalizedText("「\(program.title.zh)」认证成功，相关功能已开通。", "\(program.title.en): you are verified and all functions are open.")(lang) + suffix
    }

    static func locked(lang: Lang) -> String {
        LocalizedText("确认码未在规定时间内正确输入，为保护您的信息，账号已锁定。请联系客服解锁。",
                      "The confirmation code was not entered correctly in time; your account is locked to protect your data. Contact support to unlock it.")(lang)
    }

    static func renewalDue(program: Program, on date: Date, lang: Lang) -> String {
        let day = CaseService.day(date)
        return LocalizedText("您的「\(program.title.zh)」认证将于 \(day) 到期，请在此之前登录更新信息并重新认证，以免相关功能暂停。",
                             "Your \(program.title.en) verification runs out on \(day); sign in before then to update your details and renew it, so that nothing is paused.")(lang)
    }

    static func expired(program: Program, lang: Lang) -> String {
        LocalizedText("您的「\(program.title.zh)」认证已到复核时间，请登录更新信息并重新确认。",
                      "Your \(program.title.en) verification is due for renewal; sign in to update your details and confirm again.")(lang)
    }

    static func guardianConsent(code: String, minutes: Int, lang: Lang) -> String {
        LocalizedText("您的孩子正在申请实名认证，需要您作为监护人同意处理其姓名、身份证号等个人信息。同意请将验证码 \(code) 告知孩子并在页面输入，\(minutes) 分钟内有效。",
                      "Your child is applying for identity verification, which needs your consent as guardian to process their name, ID number and other personal data. To consent, have code \(code) entered on the page within \(minutes) minutes.")(lang)
    }
}
