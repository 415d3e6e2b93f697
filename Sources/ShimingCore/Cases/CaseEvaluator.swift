import Foundation
import IdentityRules

/// An uploaded document as the checks see it: its kind and what its content turned out to be.
public struct UploadedDocument: Sendable, Equatable {
    public var kind: Program.DocumentKind
    public var file: SniffedFile
    public var size: Int

    public init(kind: Program.DocumentKind, file: SniffedFile, size: Int) {
        self.kind = kind
        self.file = file
        self.size = size
    }
}

/// What a registry said about the applicant.
public struct RegistryAnswer: Sendable, Equatable, Codable {
    public enum Verdict: String, Sendable, Codable {
        case match
        case mismatch
        case notFound = "not_found"
        case unavailable
        /// Not asked: the look-ups allowed for this number, account or address are used up.
        case limited
    }

    public var verdict: Verdict
    public var matched: [Program.MatchField]
    public var differed: [Program.MatchField]

    public init(verdict: Verdict, matched: [Program.MatchField] = [], differed: [Program.MatchField] = []) {
        self.verdict = verdict
        self.matched = matched
        self.differed = differed
    }
}

/// What the machine decided and by which rule.
public struct AutomaticDecision: Sendable, Equatable, Codable {
    public var outcome: CaseAction.CheckOutcome
    /// The rule that decided: `checks.fix`, `checks.review`, `program.review_always`, `checks.all_passed`.
    public var rule: String
    /// The failing codes (for `returned` and `needs_review`).
    public var reasons: [String]

    public init(outcome: CaseAction.CheckOutcome, rule: String, reasons: [String]) {
        self.outcome = outcome
        self.rule = rule
        self.reasons = reasons
    }
}

/// The automatic checks of a program, as pure functions of the application, its documents and
/// the facts the server looked up (duplicates, the registry). Every check the program names
/// produces at least one result; failures carry a reason the applicant can act on.
public struct CaseEvaluator: Sendable {
    public let program: Program
    public let today: CivilDate

    public init(program: Program, today: CivilDate) {
        self.program = program
        self.today = today
    }

    private func runs(_ check: Program.Check) -> Bool { program.checks.contains(check) }

    // MARK: Document numbers

    /// The outcome of checking the identity document number as the chosen type.
    public enum NumberCheck: Sendable, Equatable {
        case valid(normalized: String, facts: IdentityFacts?)
        case invalid(code: String)
    }

    /// Checks a number as one of the program's document types; a valid 15-digit resident ID is
    /// normalised to 18 digits, the form the blind index is computed from.
    public func checkNumber(_ raw: String, type: Program.IdentityDocument) -> NumberCheck {
        let selection: DocumentCheck.Selection = switch type {
        case .resident: .resident
        case .hkMacaoResidence, .taiwanResidence: .hmt
        case .foreignPermanentResident: .fpr
        case .passport: .passport
        case .hkMacaoPermit: .hkmo
        case .taiwanPermit: .tw
        }
        let result = DocumentCheck.check(raw, as: selection, today: today)
        if let error = result.error {
            // A residence-permit number given as a resident ID card is the wrong type, not a wrong number.
            if type == .resident, DocumentCheck.check(raw, as: .hmt, today: today).isValid { return .invalid(code: "document_type_mismatch") }
            return .invalid(code: error.rawValue)
        }
        guard let normalized = result.normalized else { return .invalid(code: "invalid_format") }
        switch type {
        case .resident:
            if result.type == .hmtResidencePermit { return .invalid(code: "document_type_mismatch") }
            if result.type == .residentID15 {
                do throws(DocumentError) {
                    return .valid(normalized: try ResidentIDNumber.upgrade(normalized, today: today), facts: result.facts)
                } catch {
                    return .invalid(code: error.rawValue)
                }
            }
        case .hkMacaoResidence:
            if let region = result.facts?.regionCode, region == 830_000 { return .invalid(code: "document_type_mismatch") }
        case .taiwanResidence:
            if let region = result.facts?.regionCode, region != 830_000 { return .invalid(code: "document_type_mismatch") }
        default:
            break
        }
        return .valid(normalized: normalized, facts: result.facts)
    }

    /// The document type and normalised number, when both are valid for this program.
    public func identityNumber(_ application: CaseApplication) -> (type: Program.IdentityDocument, number: String, facts: IdentityFacts?)? {
        guard let typeText = application.identity.documentType, let type = Program.IdentityDocument(rawValue: typeText),
              program.identity.documentTypes.contains(type), let raw = application.identity.documentNumber,
              case .valid(let number, let facts) = checkNumber(raw, type: type) else { return nil }
        return (type, number, facts)
    }

    // MARK: The checks that need nothing but the application

    /// Completeness, document rules, name format, age, consistency and documents.
    public func localChecks(_ application: CaseApplication, documents: [UploadedDocument], guardianConsent: Bool) -> [CheckResult] {
        var results = completeness(application)
        let missing = Set(results.compactMap(\.field))
        let number = identityNumber(application)
        if runs(.documentRules) { results += documentRules(application, skipping: missing) }
        if runs(.nameFormat) { results += nameFormat(application, skipping: missing) }
        // Age and consistency read the birth date and gender from a valid number: without one
        // they cannot run, and say so rather than pass.
        let numberField = Self.numberField(missing: missing)
        if runs(.age) {
            results += number == nil ? [.notRun("age", field: numberField)]
                : age(application, facts: number?.facts, guardianConsent: guardianConsent)
        }
        if runs(.consistency) {
            results += number == nil ? [.notRun("consistency", field: numberField)] : consistency(application, facts: number?.facts)
        }
        if runs(.documents) { results += self.documents(documents) }
        return results
    }

    /// What a check that needs the document number waits for: the type if it is missing, else the number.
    static func numberField(missing: Set<String>) -> String {
        missing.contains("identity.documentType") ? "identity.documentType" : "identity.documentNumber"
    }

    /// The required fields and documents still missing: a case with any of them cannot be
    /// submitted (the submission is refused and not counted).
    public func missing(_ application: CaseApplication, documents: [UploadedDocument]) -> [String] {
        var fields = completeness(application).filter { !$0.passed }.compactMap(\.field)
        if runs(.documents) {
            for rule in program.documents where rule.required && !documents.contains(where: { $0.kind == rule.kind }) {
                fields.append("documents.\(rule.kind.rawValue)")
            }
        }
        return fields
    }

    func completeness(_ application: CaseApplication) -> [CheckResult] {
        var required: [(String, String?)] = [
            ("identity.name", application.identity.name),
            ("identity.documentType", application.identity.documentType),
            ("identity.documentNumber", application.identity.documentNumber),
        ]
        if program.identity.gender == .required { required.append(("identity.gender", application.identity.gender)) }
        for section in program.sections {
            switch section {
            case .school:
                let school = application.school
                required += [("school.school", school?.school), ("school.grade", school?.grade), ("school.class", school?.class),
                             ("school.enrolmentYear", school?.enrolmentYear.map(String.init))]
            case .guardian:
                let guardian = application.guardian
                required += [("guardian.name", guardian?.name), ("guardian.phone", guardian?.phone), ("guardian.relation", guardian?.relation)]
            case .organisation:
                let organisation = application.organisation
                required += [("organisation.name", organisation?.name), ("organisation.creditCode", organisation?.creditCode),
                             ("organisation.representative", organisation?.representative)]
            case .address:
                required.append(("identity.address", application.identity.address))
            }
        }
        let missing = required.filter { ($0.1 ?? "").trimmed.isEmpty }.map { CheckResult.fix("completeness", "required", field: $0.0) }
        return missing.isEmpty ? [.ok("completeness")] : missing
    }

    func documentRules(_ application: CaseApplication, skipping missing: Set<String>) -> [CheckResult] {
        var results: [CheckResult] = []
        let accepted = program.identity.documentTypes
        if missing.contains("identity.documentType") || missing.contains("identity.documentNumber") {
            results.append(.notRun("document_rules", field: Self.numberField(missing: missing)))
        } else if let typeText = application.identity.documentType, let raw = application.identity.documentNumber {
            if let type = Program.IdentityDocument(rawValue: typeText), accepted.contains(type) {
                if case .invalid(let code) = checkNumber(raw, type: type) {
                    results.append(.fix("document_rules", code, field: "identity.documentNumber"))
                }
            } else {
                results.append(.fix("document_rules", "document_type_not_accepted", field: "identity.documentType",
                                    detail: accepted.map { $0.label.zh }.joined(separator: "、")))
            }
        }
        if let raw = application.guardian?.documentNumber?.trimmed, !raw.isEmpty, case .invalid(let code) = checkNumber(raw, type: .resident) {
            results.append(.fix("document_rules", code, field: "guardian.documentNumber"))
        }
        if let raw = application.organisation?.creditCode?.trimmed, !raw.isEmpty, !missing.contains("organisation.creditCode") {
            do throws(DocumentError) { _ = try UnifiedSocialCreditCode.validate(raw) } catch {
                results.append(.fix("document_rules", error.rawValue, field: "organisation.creditCode"))
            }
        }
        for (field, value) in [("guardian.phone", application.guardian?.phone), ("contact.phone", application.contact?.phone)] {
            guard let raw = value?.trimmed, !raw.isEmpty else { continue }
            do throws(DocumentError) { _ = try MobileNumber.validate(raw) } catch { results.append(.fix("document_rules", error.rawValue, field: field)) }
        }
        if let raw = application.contact?.email?.trimmed, !raw.isEmpty {
            do throws(DocumentError) { _ = try EmailAddress.validate(raw) } catch { results.append(.fix("document_rules", error.rawValue, field: "contact.email")) }
        }
        return results.isEmpty ? [.ok("document_rules")] : results
    }

    func nameFormat(_ application: CaseApplication, skipping missing: Set<String>) -> [CheckResult] {
        var results: [CheckResult] = []
        let names = [("identity.name", application.identity.name), ("guardian.name", application.guardian?.name),
                     ("organisation.representative", application.organisation?.representative)]
        if missing.contains("identity.name") { results.append(.notRun("name_format", field: "identity.name")) }
        for (field, value) in names {
            guard let value, !value.trimmed.isEmpty, !missing.contains(field) else { continue }
            do throws(DocumentError) { _ = try PersonalName.validate(value) } catch {
                results.append(.fix("name_format", error.rawValue, field: field))
            }
        }
        if let name = application.organisation?.name?.trimmed, !name.isEmpty, name.count < 2 || name.count > 100 {
            results.append(.fix("name_format", "invalid_length", field: "organisation.name"))
        }
        return results.isEmpty ? [.ok("name_format")] : results
    }

    func age(_ application: CaseApplication, facts: IdentityFacts?, guardianConsent: Bool) -> [CheckResult] {
        var results: [CheckResult] = []
        let limit = String(program.guardianConsentUnderAge)
        if let facts, facts.age(on: today) < program.guardianConsentUnderAge {
            let guardian = application.guardian
            let complete = [guardian?.name, guardian?.phone, guardian?.relation].allSatisfy { !($0?.trimmed.isEmpty ?? true) }
            if !complete {
                results.append(.fix("age", "guardian_required", field: "guardian.name", detail: limit))
            } else if !guardianConsent {
                results.append(.fix("age", "guardian_consent_missing", field: "guardian.phone", detail: limit))
            }
        }
        if let raw = application.guardian?.documentNumber?.trimmed, !raw.isEmpty,
           case .valid(_, let guardianFacts?) = checkNumber(raw, type: .resident), guardianFacts.age(on: today) < 18 {
            results.append(.fix("age", "guardian_not_adult", field: "guardian.documentNumber"))
        }
        return results.isEmpty ? [.ok("age")] : results
    }

    func consistency(_ application: CaseApplication, facts: IdentityFacts?) -> [CheckResult] {
        var results: [CheckResult] = []
        if let gender = application.identity.gender?.trimmed, !gender.isEmpty {
            if Gender(rawValue: gender) == nil {
                results.append(.fix("consistency", "invalid_value", field: "identity.gender"))
            } else if let facts, facts.gender.rawValue != gender {
                results.append(.fix("consistency", "gender_mismatch", field: "identity.gender"))
            }
        }
        if program.subject == .organisation, let representative = application.organisation?.representative,
           let name = application.identity.name, !representative.trimmed.isEmpty, !name.trimmed.isEmpty,
           !NameMatching.sameName(representative, name) {
            results.append(.fix("consistency", "representative_mismatch", field: "organisation.representative"))
        }
        return results.isEmpty ? [.ok("consistency")] : results
    }

    func documents(_ documents: [UploadedDocument]) -> [CheckResult] {
        var results: [CheckResult] = []
        for rule in program.documents {
            let field = "documents.\(rule.kind.rawValue)"
            let uploaded = documents.filter { $0.kind == rule.kind }
            if uploaded.isEmpty {
                if rule.required { results.append(.fix("documents", "document_missing", field: field)) }
                continue
            }
            for document in uploaded {
                if !rule.formats.contains(document.file.format) {
                    results.append(.fix("documents", "document_format_not_accepted", field: field,
                                        detail: rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")))
                } else if document.size > rule.maxBytes {
                    results.append(.fix("documents", "document_too_large", field: field, detail: "\(rule.maxBytes / 1024) KB"))
                } else if let width = document.file.width, let height = document.file.height, min(width, height) < rule.minimumShortSide {
                    results.append(.fix("documents", "document_illegible", field: field, detail: String(rule.minimumShortSide)))
                }
            }
        }
        return results.isEmpty ? [.ok("documents")] : results
    }

    // MARK: Deciding

    /// The complete result list and the decision, given the local results and what the server
    /// found: whether the number is held by another account, and the registry's answer.
    public func decide(local: [CheckResult], duplicate: Bool?, registry: RegistryAnswer?) -> (checks: [CheckResult], decision: AutomaticDecision) {
        var checks = local
        if runs(.duplicate), let duplicate {
            checks.append(duplicate ? .review("duplicate", "duplicate_identity", field: "identity.documentNumber") : .ok("duplicate"))
        }
        if runs(.frequency) { checks.append(.ok("frequency")) }
        if runs(.registry), let registry {
            let matched = registry.matched.map(\.rawValue), differed = registry.differed.map(\.rawValue)
            switch registry.verdict {
            case .match: checks.append(.ok("registry", matched: matched))
            case .mismatch: checks.append(.review("registry", "registry_mismatch", matched: matched, differed: differed))
            case .notFound:
                var result = CheckResult.review("registry", "registry_not_found")
                result.detail = program.registry.source.rawValue  // a school roll reads differently from a service
                checks.append(result)
            case .unavailable: checks.append(.review("registry", "registry_unavailable"))
            case .limited: checks.append(.review("registry", "registry_limited"))
            }
        }
        let fixes = checks.filter { $0.disposition == .fix }.map(\.code)
        let doubts = checks.filter { $0.disposition == .review }.map(\.code)
        let decision: AutomaticDecision
        if !fixes.isEmpty {
            decision = AutomaticDecision(outcome: .returned, rule: "checks.fix", reasons: fixes)
        } else if !doubts.isEmpty {
            decision = AutomaticDecision(outcome: .needsReview, rule: "checks.review", reasons: doubts)
        } else if program.review.mode == .always {
            decision = AutomaticDecision(outcome: .needsReview, rule: "program.review_always", reasons: ["review_always"])
        } else {
            decision = AutomaticDecision(outcome: .approved, rule: "checks.all_passed", reasons: [])
        }
        return (checks, decision)
    }

    /// Whether the local results leave anything for the applicant to fix (then the registry
    /// is not consulted: a wrong number would only be reported as not found).
    public static func needsFixing(_ results: [CheckResult]) -> Bool { results.contains { $0.disposition == .fix } }
}

extension Program {
    /// Every field and document an application under this program has, named as in the API
    /// (`identity.name`, `documents.id_front`), in the order the form asks for them: what a
    /// reviewer may point at when returning, and the questions of the form's steps.
    public var fieldNames: [String] {
        var names = ["identity.name", "identity.documentType", "identity.documentNumber"]
        if identity.gender != .none { names.append("identity.gender") }
        for section in sections {
            switch section {
            case .address: names.append("identity.address")
            case .school: names += ["school.school", "school.grade", "school.class", "school.enrolmentYear"]
            case .guardian: names += ["guardian.name", "guardian.phone", "guardian.relation", "guardian.documentNumber"]
            case .organisation: names += ["organisation.name", "organisation.creditCode", "organisation.representative"]
            }
        }
        return names + documents.map { "documents.\($0.kind.rawValue)" }
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
