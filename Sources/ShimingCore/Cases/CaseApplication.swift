/// What an applicant states in a case (API.md's `POST /cases` body minus `program`). Every
/// value is personal data: the server stores the whole value sealed. Fields are optional so a
/// draft can be saved half-filled; the completeness check names what is missing on submit.
public struct CaseApplication: Sendable, Equatable, Codable {
    public struct Identity: Sendable, Equatable, Codable {
        public var name: String?
        public var documentType: String?
        public var documentNumber: String?
        public var gender: String?
        public var address: String?

        public init(name: String? = nil, documentType: String? = nil, documentNumber: String? = nil,
                    gender: String? = nil, address: String? = nil) {
            self.name = name
            self.documentType = documentType
            self.documentNumber = documentNumber
            self.gender = gender
            self.address = address
        }
    }

    public struct Contact: Sendable, Equatable, Codable {
        public var phone: String?
        public var email: String?

        public init(phone: String? = nil, email: String? = nil) {
            self.phone = phone
            self.email = email
        }
    }

    public struct School: Sendable, Equatable, Codable {
        public var school: String?
        public var grade: String?
        public var `class`: String?
        public var enrolmentYear: Int?

        public init(school: String? = nil, grade: String? = nil, class: String? = nil, enrolmentYear: Int? = nil) {
            self.school = school
            self.grade = grade
            self.class = `class`
            self.enrolmentYear = enrolmentYear
        }
    }

    public struct Guardian: Sendable, Equatable, Codable {
        public var name: String?
        public var phone: String?
        public var relation: String?
        public var documentNumber: String?

        public init(name: String? = nil, phone: String? = nil, relation: String? = nil, documentNumber: String? = nil) {
            self.name = name
            self.phone = phone
            self.relation = relation
            self.documentNumber = documentNumber
        }
    }

    public struct Organisation: Sendable, Equatable, Codable {
        public var name: String?
        public var creditCode: String?
        public var representative: String?

        public init(name: String? = nil, creditCode: String? = nil, representative: String? = nil) {
            self.name = name
            self.creditCode = creditCode
            self.representative = representative
        }
    }

    public var identity: Identity
    public var contact: Contact?
    public var school: School?
    public var guardian: Guardian?
    public var organisation: Organisation?

    public init(identity: Identity = Identity(), contact: Contact? = nil, school: School? = nil,
                guardian: Guardian? = nil, organisation: Organisation? = nil) {
        self.identity = identity
        self.contact = contact
        self.school = school
        self.guardian = guardian
        self.organisation = organisation
    }

    /// "Verify once": what of this (verified) application another program asks for too — the
    /// identity when the program accepts its document type, the gender and address where it
    /// has them, and the sections it has. Nothing it does not ask for is carried over.
    public func carried(into program: Program) -> CaseApplication {
        var next = CaseApplication()
        next.identity.name = identity.name
        if let type = identity.documentType.flatMap(Program.IdentityDocument.init(rawValue:)), program.identity.documentTypes.contains(type) {
            next.identity.documentType = type.rawValue
            next.identity.documentNumber = identity.documentNumber
        }
        if program.identity.gender != .none { next.identity.gender = identity.gender }
        if program.sections.contains(.address) { next.identity.address = identity.address }
        next.contact = contact
        if program.sections.contains(.school) { next.school = school }
        if program.sections.contains(.guardian) { next.guardian = guardian }
        if program.sections.contains(.organisation) { next.organisation = organisation }
        return next
    }

    /// Guardian relations offered on forms (free text is accepted too).
    public static let relations = ["father", "mother", "grandparent", "other"]
}
