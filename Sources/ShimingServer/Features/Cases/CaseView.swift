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
