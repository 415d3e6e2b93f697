import Foundation
/// A verification program: the policy one deployment (or one of its services) applies to an
/// application. Programs are data, loaded from YAML; the five processes of PRODUCT.md are
/// presets, not code paths.
public struct Program: Sendable, Equatable, Codable {
    /// Who is being verified.
    public enum Subject: String, Sendable, Codable, CaseIterable {
        case person
        case organisation
    }

    /// Extra parts of the application form beyond the identity fields.
    public enum Section: String, Sendable, Codable, CaseIterable {
        case school
        case guardian
        case organisation
        case address
    }

    /// Kinds of uploaded document (API.md's `kind` values).
    public enum DocumentKind: String, Sendable, Codable, CaseIterable {
        case idFront = "id_front"
        case idBack = "id_back"
        case householdRegister = "household_register"
        case workProof = "work_proof"
        case socialSecurity = "social_security"
        case businessLicence = "business_licence"
        case other
    }

    /// Which identity documents an applicant may give.
    public enum IdentityDocument: String, Sendable, Codable, CaseIterable {
        case resident
        case hkMacaoResidence = "hk_macao_residence"
        case taiwanResidence = "taiwan_residence"
        case foreignPermanentResident = "foreign_permanent_resident"
        case passport
        case hkMacaoPermit = "hk_macao_permit"
        case taiwanPermit = "taiwan_permit"
    }

    /// Whether an identity field is asked for.
    public enum Need: String, Sendable, Codable, CaseIterable {
        case required
        case optional
        case none
    }

    /// The automatic checks a program can run on submit.
    public enum Check: String, Sendable, Codable, CaseIterable {
        case documentRules = "document_rules"
        case nameFormat = "name_format"
        case age
        case consistency
        case duplicate
        case documents
        case frequency
        case registry
    }

    /// Where the authoritative data comes from.
    public enum RegistrySource: String, Sendable, Codable, CaseIterable {
        case none
        case roster
        case service
    }

    /// Fields a registry answer can be compared on.
    public enum MatchField: String, Sendable, Codable, CaseIterable {
        case name
        case documentNumber = "document_number"
        case school
        case grade
        case `class`
        case enrolmentYear = "enrolment_year"
    }

    /// Who reviews a case a person must decide.
    public enum Routing: String, Sendable, Codable, CaseIterable {
        /// The program's reviewer pool.
        case pool
        /// The homeroom teacher of the case's school + class (P4); supervisors when there is none.
        case classTeacher = "class_teacher"
    }

    /// When a person reviews.
    /// How a pool task reaches a reviewer.
    public enum Assignment: String, Sendable, Codable, CaseIterable {
        /// Reviewers claim tasks from the queue.
        case claim
        /// Each new task goes to the reviewer on duty whose last assignment is oldest.
        case roundRobin = "round_robin"
    }

    public enum ReviewMode: String, Sendable, Codable, CaseIterable {
        /// Only cases the machine cannot decide.
        case onDoubt = "on_doubt"
        /// Every case, after the automatic checks passed (P1's manual re-review, P3).
        case always
    }

    /// The identity fields: name and document number always; which document types; gender.
    /// (The postal address, API.md's `identity.address`, is asked for by the `address` section.)
    public struct Identity: Sendable, Equatable, Codable {
        public var documentTypes: [IdentityDocument]
        public var gender: Need

        public init(documentTypes: [IdentityDocument], gender: Need = .optional) {
            self.documentTypes = documentTypes
            self.gender = gender
        }
    }

    public struct DocumentRule: Sendable, Equatable, Codable {
        public var kind: DocumentKind
        public var required: Bool
        public var maxBytes: Int
        public var formats: [SniffedFile.Format]
        /// The shorter side of an image must have at least this many pixels to be legible.
        public var minimumShortSide: Int

        public init(kind: DocumentKind, required: Bool, maxBytes: Int = 5 * 1024 * 1024,
                    formats: [SniffedFile.Format] = SniffedFile.Format.allCases, minimumShortSide: Int = 600) {
            self.kind = kind
            self.required = required
            self.maxBytes = maxBytes
            self.formats = formats
            self.minimumShortSide = minimumShortSide
        }
    }

    public struct Registry: Sendable, Equatable, Codable {
        public var source: RegistrySource
        /// Fields that must match for an automatic approval.
        public var match: [MatchField]
        /// Look-ups of one document number per day (from any account); past it the registry is
        /// not asked and a person decides — the registry is no oracle for name ↔ number pairs.
        public var lookupsPerNumberPerDay: Int

        public init(source: RegistrySource = .none, match: [MatchField] = [], lookupsPerNumberPerDay: Int = 3) {
            self.source = source
            self.match = match
            self.lookupsPerNumberPerDay = lookupsPerNumberPerDay
        }
    }

    public struct Review: Sendable, Equatable, Codable {
        public var routing: Routing
        public var mode: ReviewMode
        /// Hours from entering review to the due time.
        public var dueHours: Int
        public var assignment: Assignment

        public init(routing: Routing = .pool, mode: ReviewMode = .onDoubt, dueHours: Int = 48, assignment: Assignment = .claim) {
            self.routing = routing
            self.mode = mode
            self.dueHours = dueHours
            self.assignment = assignment
        }
    }

    public struct Confirmation: Sendable, Equatable, Codable {
        /// Minutes the applicant has to enter the code.
        public var minutes: Int
        /// Wrong entries allowed before the account is locked.
        public var maxAttempts: Int

        public init(minutes: Int = 30, maxAttempts: Int = 5) {
            self.minutes = minutes
            self.maxAttempts = maxAttempts
        }
    }

    public struct RateLimit: Sendable, Equatable, Codable {
        /// At most this many submissions …
        public var count: Int
        /// … within this many days.
        public var days: Int

        public init(count: Int, days: Int) {
            self.count = count
            self.days = days
        }
    }

    /// How long an application's personal data is kept (PIPL art. 19), in days. The daily
    /// retention sweep deletes the document files `documents` days after the decision, and
    /// shreds — keeping only the fact, program, state and times — rejected and withdrawn
    /// applications `afterRejection` days after their last change, drafts and returned
    /// applications left untouched as long, and expired verifications `caseData` days after
    /// they ran out. A verification in force is never shredded.
    public struct Retention: Sendable, Equatable, Codable {
        public var documents: Int
        public var afterRejection: Int
        public var caseData: Int

        public init(documents: Int = 180, afterRejection: Int = 90, caseData: Int = 3 * 365) {
            self.documents = documents
            self.afterRejection = afterRejection
            self.caseData = caseData
        }

        /// `180d`, `6m` (30 days a month), `3y` (365 days a year), or a bare number of days.
        public static func days(_ text: String) -> Int? {
            let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
            guard let unit = trimmed.last else { return nil }
            let factor = switch unit {
            case "d": 1
            case "m": 30
            case "y": 365
            default: 0
            }
            guard let count = Int(factor == 0 ? trimmed : String(trimmed.dropLast())), count >= 0 else { return nil }
            return count * max(factor, 1)
        }
    }

    public var key: String
    public var title: LocalizedText
    public var description: LocalizedText
    public var subject: Subject
    public var identity: Identity
    public var sections: [Section]
    public var documents: [DocumentRule]
    public var registry: Registry
    public var checks: [Check]
    public var review: Review
    /// A second confirmation code after approval (P1), or none.
    public var confirmation: Confirmation?
    /// Months after which a verification must be renewed, or none.
    public var reverificationMonths: Int?
    /// Days before a verification runs out that its holder is reminded to renew it.
    public var reverificationReminderDays: Int
    public var applicationLimit: RateLimit
    /// Under this age (from the identity number) the guardian section and consent are required.
    public var guardianConsentUnderAge: Int
    /// Whether verified people get a system-generated identity code (P1).
    public var issuesIdentityCode: Bool
    /// How long the personal data of its applications is kept.
    public var retention: Retention = Retention()

    public init(
        key: String, title: LocalizedText, description: LocalizedText, subject: Subject = .person, identity: Identity,
        sections: [Section] = [], documents: [DocumentRule] = [], registry: Registry = Registry(), checks: [Check] = Check.allCases,
        review: Review = Review(), confirmation: Confirmation? = nil, reverificationMonths: Int? = nil, reverificationReminderDays: Int = 30,
        applicationLimit: RateLimit = RateLimit(count: 5, days: 1), guardianConsentUnderAge: Int = 14, issuesIdentityCode: Bool = false
    ) {
        self.key = key
        self.title = title
        self.description = description
        self.subject = subject
        self.identity = identity
        self.sections = sections
        self.documents = documents
        self.registry = registry
        self.checks = checks
        self.review = review
        self.confirmation = confirmation
        self.reverificationMonths = reverificationMonths
        self.reverificationReminderDays = reverificationReminderDays
        self.applicationLimit = applicationLimit
        self.guardianConsentUnderAge = guardianConsentUnderAge
        self.issuesIdentityCode = issuesIdentityCode
    }

    /// Rules that hold between fields: each problem names the field path and says what is wrong.
    public func problems() -> [(field: String, message: String)] {
        var problems: [(String, String)] = []
        if key.isEmpty || !key.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
            problems.append(("key", "must be lower-case letters, digits and '-'"))
        }
        if title.zh.isEmpty || title.en.isEmpty { problems.append(("title", "needs both zh-CN and en")) }
        if subject == .person, identity.documentTypes.isEmpty { problems.append(("identity.documentTypes", "must name at least one document type")) }
        if subject == .organisation, !sections.contains(.organisation) {
            problems.append(("sections", "an organisation program needs the organisation section"))
        }
        var kinds = Set<DocumentKind>()
        for (index, rule) in documents.enumerated() {
            if !kinds.insert(rule.kind).inserted { problems.append(("documents[\(index)].kind", "\(rule.kind.rawValue) is listed twice")) }
            if rule.maxBytes < 1024 || rule.maxBytes > 50 * 1024 * 1024 {
                problems.append(("documents[\(index)].maxBytes", "must be between 1 KB and 50 MB"))
            }
            if rule.formats.isEmpty { problems.append(("documents[\(index)].formats", "must name at least one format")) }
            if rule.minimumShortSide < 0 { problems.append(("documents[\(index)].minimumShortSide", "must not be negative")) }
        }
        if registry.source == .none, checks.contains(.registry) {
            problems.append(("checks", "the registry check needs registry.source roster or service"))
        }
        if registry.source != .none, registry.match.isEmpty { problems.append(("registry.match", "must name the fields that have to match")) }
        if registry.source == .roster, !sections.contains(.school) {
            problems.append(("registry.source", "a roster is matched on school data: add the school section"))
        }
        if review.routing == .classTeacher, !sections.contains(.school) {
            problems.append(("review.routing", "class_teacher needs the school section (school, grade, class)"))
        }
        if review.dueHours < 1 || review.dueHours > 24 * 60 { problems.append(("review.dueHours", "must be between 1 and 1440")) }
        if let confirmation {
            if confirmation.minutes < 1 || confirmation.minutes > 7 * 24 * 60 { problems.append(("confirmation.minutes", "must be between 1 and 10080")) }
            if confirmation.maxAttempts < 1 || confirmation.maxAttempts > 20 { problems.append(("confirmation.maxAttempts", "must be between 1 and 20")) }
        }
        if let months = reverificationMonths, months < 1 || months > 120 { problems.append(("reverificationMonths", "must be between 1 and 120")) }
        if reverificationReminderDays < 1 || reverificationReminderDays > 90 {
            problems.append(("reverificationReminderDays", "must be between 1 and 90"))
        } else if let months = reverificationMonths, reverificationReminderDays >= months * 28 {
            problems.append(("reverificationReminderDays", "must be shorter than the re-verification period"))
        }
        if applicationLimit.count < 1 { problems.append(("applicationLimit.count", "must be at least 1")) }
        if applicationLimit.days < 1 || applicationLimit.days > 365 { problems.append(("applicationLimit.days", "must be between 1 and 365")) }
        if guardianConsentUnderAge < 0 || guardianConsentUnderAge > 18 { problems.append(("guardianConsentUnderAge", "must be between 0 and 18")) }
        for (field, days) in [("documents", retention.documents), ("afterRejection", retention.afterRejection), ("caseData", retention.caseData)]
        where days < 1 || days > 30 * 365 {
            problems.append(("retention.\(field)", "must be between 1 day and 30 years"))
        }
        return problems
    }
}
