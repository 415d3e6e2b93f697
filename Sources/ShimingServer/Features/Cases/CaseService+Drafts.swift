import Foundation
import IdentityRules
import ShimingCore

/// Drafts: the input merged into an application, creation (renewals and "verify once"), edits.
extension CaseService {
    // MARK: Input

    /// The body of `POST /cases` and `PATCH /cases/{id}`: in a PATCH, a field left out is kept,
    /// an empty string clears it.
    struct Input: Codable, Sendable {
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
        return (number.map { numberIndex($0).stored }, school?.school.map(NameMatching.labelKey), school?.grade.map(NameMatching.labelKey),
                school?.class.map(NameMatching.labelKey))
    }

    /// The application sealed under the applicant's own key.
    func seal(_ app: CaseApplication, id: UUID, owner: UUID) async throws -> String {
        let json = String(decoding: try JSONEncoder().encode(app), as: UTF8.self)
        return try await context.sealer(for: owner).seal(json, context: StoredCase.dataContext(id))
    }

    // MARK: Create, edit, read

    func create(account: Account, _ input: Input, ip: String?) async throws -> Case {
        try account.checkMayAct()
        guard let key = input.program?.trimmingCharacters(in: .whitespaces), !key.isEmpty else {
            throw AccountError.invalid(["program": "required"])
        }
        guard let program = context.programs[key] else { throw AccountError.invalid(["program": "invalid_value"]) }
        // PIPL art. 29: the document number and photos are processed only with the separate consent.
        guard account.consents[.sensitive] != nil else { throw ConsentService.sensitiveRequired() }
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
        let sealed = try await seal(app, id: id, owner: account.id)
        let copies = try await copyDocuments(of: source, fitting: program)
        let created: Case
        do {
            created = try await insert(id: id, account: account, program: program, sealed: sealed, derived: derived, renews: input.renews,
                                       source: source, copies: copies, at: now, ip: ip)
        } catch {
            for copy in copies { try? await context.files.remove(copy.id) }
            throw error
        }
        return created
    }

    /// The account's latest verification under another program (the one "verify once" starts from).
    func latestVerification(account: Account, other program: String) async throws -> Case? {
        guard let found = try await store.cases.latestVerified(account: account.id, otherThan: program) else { return nil }
        return try await load(found)
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
                try await context.files.write(try await context.files.read(file), id: copy.id, owner: file.ownerID)
            } catch {
                for done in copies { try? await context.files.remove(done.id) }
                throw error
            }
            copies.append(copy)
        }
        return copies
    }

    /// Drafts one account may have open at a time.
    static let maxOpenDrafts = 5

    static let tooManyDrafts = UserFacingError(
        code: "too_many_drafts", kind: .conflict,
        message: LocalizedText("您已有 \(maxOpenDrafts) 份未提交的申请，请先把其中一份填完提交。",
                               "You have \(maxOpenDrafts) unsubmitted applications; finish and submit one of them first."))

    func insert(id: UUID, account: Account, program: Program, sealed: String, derived: (index: String?, school: String?, grade: String?, class: String?),
                renews: UUID?, source: Case?, copies: [DocumentCopy], at now: Date, ip: String?) async throws -> Case {
        let files = context.files
        let (item, documents, created) = try await store.transaction { tx in
            // Drafts are cheap to make and hold files: a few at a time per account.
            try await tx.accounts.lockRow(account.id)
            guard try await tx.cases.count(of: account.id, in: .draft) < Self.maxOpenDrafts else { throw Self.tooManyDrafts }
            let item = StoredCase(
                id: id, accountID: account.id, program: program.key, state: .draft, dataSealed: sealed, numberIndex: derived.index,
                scopeSchool: derived.school, scopeGrade: derived.grade, scopeClass: derived.class, confirmationAttempts: 0,
                createdAt: now, updatedAt: now, version: 1
            )
            try await tx.cases.insert(item)
            let created = try await tx.cases.writeTransition(item, action: "create", from: nil, to: .draft, actor: .account(account.id), rule: nil,
                                                             at: now, seq: 0)
            var documents: [StoredFile] = []
            for copy in copies {
                let file = copy.of
                documents.append(try await tx.recordFile(in: files, id: copy.id, owner: account.id, purpose: Self.documentPurpose, parent: id, kind: file.kind,
                                            sniffed: SniffedFile(format: file.format, width: file.width, height: file.height), size: file.size, at: now))
            }
            var details = ["program": program.key]
            details["renews"] = renews?.lowercasedText
            if let source {
                details["prefilledFrom"] = source.id.lowercasedText
                details["documentsReused"] = String(copies.count)
            }
            try await tx.audit("case.created", actor: .account(account.id), subject: Self.subject(id), ip: ip, details: details, at: now)
            return (item, documents, created)
        }
        // What was written is what a read would answer: no need to read it back.
        return try assemble(item, documents: documents, history: [created])
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
        let sealed = try await seal(app, id: id, owner: account.id)
        let changed = app != current.application
        try await store.transaction { tx in
            var record = try await tx.cases.locked(id, version: current.version)
            guard record.state.isEditable else { throw Self.notEditable(current.state) }
            record.dataSealed = sealed
            if record.numberIndex != derived.index {
                record.guardianConsentAt = nil  // consent was given for the child the old number named
            }
            record.numberIndex = derived.index
            record.scopeSchool = derived.school
            record.scopeGrade = derived.grade
            record.scopeClass = derived.class
            try await tx.cases.save(&record, at: now)
            try await tx.audit("case.updated", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["state": record.state.rawValue, "changed": changed ? "yes" : "no"], at: now)
        }
        if changed, current.state == .needsReview {
            return try await submit(id, account: account, ip: ip)
        }
        return try await own(id, account: account)
    }
}
