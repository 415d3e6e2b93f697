import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// A case as JSON: personal data masked.
struct CaseView: Content {
    struct Identity: Content {
        var name: String?
        var documentType: String?
        var documentNumber: String?
        var gender: String?
        var address: String?
    }

    struct Check: Content {
        var check: String
        var code: String
        var passed: Bool
        var reason: String
        var field: String?
        var matched: [String]?
        var differed: [String]?
    }

    struct Reason: Content {
        var code: String
        var field: String?
        var message: String
    }

    struct Decision: Content {
        var outcome: String
        var rule: String
        var reasons: [Reason]
        var decidedBy: String
        var decidedAt: Date
        /// The reviewer's words to the applicant.
        var message: String?
    }

    struct Step: Content {
        var state: String
        var action: String
        var at: Date
        var by: String
        var rule: String?
    }

    var id: UUID
    var program: String
    var state: String
    var stateLabel: String
    var identityCode: String?
    var identity: Identity
    var contact: CaseApplication.Contact?
    var school: CaseApplication.School?
    var guardian: CaseApplication.Guardian?
    var organisation: CaseApplication.Organisation?
    var documents: [StoredFileView]
    var checks: [Check]
    var decision: Decision?
    var history: [Step]
    var guardianConsent: Bool
    var confirmationExpiresAt: Date?
    var submittedAt: Date?
    var verifiedAt: Date?
    var expiresAt: Date?
    var createdAt: Date
    var updatedAt: Date

    init(_ item: Case, lang: Lang) {
        let app = item.application
        id = item.id
        program = item.program
        state = item.state.rawValue
        stateLabel = item.state.label(lang)
        identityCode = item.identityCode.map(IdentityCode.format)
        identity = Identity(name: app.identity.name.map(PersonalName.mask), documentType: app.identity.documentType,
                            documentNumber: item.maskedNumber, gender: app.identity.gender,
                            address: app.identity.address.map { Masking.keep(first: 6, last: 0, of: $0) })
        contact = app.contact.map { .init(phone: $0.phone.map(MobileNumber.mask), email: $0.email.map(EmailAddress.mask)) }
        school = app.school
        guardian = app.guardian.map {
            .init(name: $0.name.map(PersonalName.mask), phone: $0.phone.map(MobileNumber.mask), relation: $0.relation,
                  documentNumber: $0.documentNumber.map(Case.mask(number:)))
        }
        organisation = app.organisation.map { .init(name: $0.name, creditCode: $0.creditCode, representative: $0.representative.map(PersonalName.mask)) }
        documents = item.documents.map(StoredFileView.init)
        checks = item.checks.map {
            Check(check: $0.check, code: $0.code, passed: $0.passed, reason: $0.reason(lang), field: $0.field, matched: $0.matched, differed: $0.differed)
        }
        decision = item.decision.map { decision in
            Decision(outcome: decision.outcome, rule: decision.rule,
                     reasons: item.decisionReasons().map { Reason(code: $0.code, field: $0.field, message: $0.message(lang)) },
                     decidedBy: decision.decidedBy == "system" ? "system" : "staff", decidedAt: decision.decidedAt,
                     message: item.decisionMessage)
        }
        history = item.history.map { Step(state: $0.state.rawValue, action: $0.action, at: $0.at, by: $0.actorKind, rule: $0.rule) }
        guardianConsent = item.guardianConsentAt != nil
        confirmationExpiresAt = item.confirmationExpiresAt
        submittedAt = item.submittedAt
        verifiedAt = item.verifiedAt
        expiresAt = item.expiresAt
        createdAt = item.createdAt
        updatedAt = item.updatedAt
    }
}

/// A case's answer written directly (`JSONWriter`): every case read, creation and move answers
/// one. Each object's members are in the order of their keys, as `SortedJSON` sorts them.
extension CaseView {
    func encodeResponse(for request: Request) async throws -> Response {
        try JSONCoding.response(self) { try $0.json() }
    }

    /// The bytes `SortedJSON` writes for the case (tested against it).
    func json() throws -> [UInt8] {
        var out = JSONWriter(capacity: 1_024 + 160 * (history.count + documents.count + checks.count))
        try out.object { out in
            out.key("checks")
            out.array(checks) { out, check in check.write(to: &out) }
            try out.member("confirmationExpiresAt", confirmationExpiresAt)
            if let contact {
                out.key("contact")
                out.object { out in
                    out.member("email", contact.email)
                    out.member("phone", contact.phone)
                }
            }
            try out.member("createdAt", createdAt)
            if let decision {
                out.key("decision")
                try decision.write(to: &out)
            }
            out.key("documents")
            try out.array(documents) { out, document in try document.write(to: &out) }
            try out.member("expiresAt", expiresAt)
            if let guardian {
                out.key("guardian")
                out.object { out in
                    out.member("documentNumber", guardian.documentNumber)
                    out.member("name", guardian.name)
                    out.member("phone", guardian.phone)
                    out.member("relation", guardian.relation)
                }
            }
            out.member("guardianConsent", guardianConsent)
            out.key("history")
            try out.array(history) { out, step in try step.write(to: &out) }
            out.member("id", id)
            out.key("identity")
            out.object { out in
                out.member("address", identity.address)
                out.member("documentNumber", identity.documentNumber)
                out.member("documentType", identity.documentType)
                out.member("gender", identity.gender)
                out.member("name", identity.name)
            }
            out.member("identityCode", identityCode)
            if let organisation {
                out.key("organisation")
                out.object { out in
                    out.member("creditCode", organisation.creditCode)
                    out.member("name", organisation.name)
                    out.member("representative", organisation.representative)
                }
            }
            out.member("program", program)
            if let school {
                out.key("school")
                out.object { out in
                    out.member("class", school.class)
                    out.member("enrolmentYear", school.enrolmentYear)
                    out.member("grade", school.grade)
                    out.member("school", school.school)
                }
            }
            out.member("state", state)
            out.member("stateLabel", stateLabel)
            try out.member("submittedAt", submittedAt)
            try out.member("updatedAt", updatedAt)
            try out.member("verifiedAt", verifiedAt)
        }
        return out.bytes
    }
}

extension CaseView.Check {
    fileprivate func write(to out: inout JSONWriter) {
        out.object { out in
            out.member("check", check)
            out.member("code", code)
            out.member("differed", differed)
            out.member("field", field)
            out.member("matched", matched)
            out.member("passed", passed)
            out.member("reason", reason)
        }
    }
}

extension CaseView.Decision {
    fileprivate func write(to out: inout JSONWriter) throws {
        try out.object { out in
            try out.member("decidedAt", decidedAt)
            out.member("decidedBy", decidedBy)
            out.member("message", message)
            out.member("outcome", outcome)
            out.key("reasons")
            out.array(reasons) { out, reason in
                out.object { out in
                    out.member("code", reason.code)
                    out.member("field", reason.field)
                    out.member("message", reason.message)
                }
            }
            out.member("rule", rule)
        }
    }
}

extension CaseView.Step {
    fileprivate func write(to out: inout JSONWriter) throws {
        try out.object { out in
            out.member("action", action)
            try out.member("at", at)
            out.member("by", by)
            out.member("rule", rule)
            out.member("state", state)
        }
    }
}

extension StoredFileView {
    fileprivate func write(to out: inout JSONWriter) throws {
        try out.object { out in
            out.member("contentType", contentType)
            try out.member("createdAt", createdAt)
            out.member("height", height)
            out.member("id", id)
            out.member("kind", kind)
            out.member("size", size)
            out.member("width", width)
        }
    }
}
