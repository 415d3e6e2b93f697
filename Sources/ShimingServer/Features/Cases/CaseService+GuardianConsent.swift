import Foundation
import IdentityRules
import ShimingCore

/// A guardian's consent for a child under the program's age (PIPL art. 31).
extension CaseService {
    // MARK: Guardian consent (PIPL art. 31)

    /// Sends the consent text with a code to the guardian's phone named in the case.
    func requestGuardianConsent(_ id: UUID, account: Account, lang: Lang, ip: String?) async throws {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        guard let raw = current.application.guardian?.phone else { throw AccountError.invalid(["guardian.phone": "required"]) }
        let phone: String
        do throws(DocumentError) { phone = try MobileNumber.validate(raw) } catch { throw AccountError.invalid(["guardian.phone": error.rawValue]) }
        let index = context.blindIndex.phone(phone)
        let now = self.now
        let codes = self.codes
        let store = store
        try await store.transaction { tx in
            try await codes.reserve(destinationIndex: index.stored, ip: ip, now: now, in: tx)
            let code = try await codes.issue(channel: "sms", destinationIndex: index.stored, purpose: "guardian_consent:\(id.lowercasedText)",
                                             accountID: account.id, ip: ip, now: now, in: tx)
            let text = MessageTemplates.brand(lang) + Notices.guardianConsent(code: code, minutes: Int(codes.policy.lifetime / 60), lang: lang)
            var message = OutgoingMessage(channel: .sms, to: phone, template: "guardian_consent", text: text, code: code)
            message.account = account.id
            try await tx.enqueue(message, at: now)
            try await tx.audit("case.guardian_consent_requested", actor: .account(account.id), subject: Self.subject(id), ip: ip, at: now)
        }
    }

    /// Records the guardian's consent when the code from their phone is entered.
    func confirmGuardianConsent(_ id: UUID, account: Account, code: String?, ip: String?,
                                client: ConsentService.Client? = nil) async throws -> Case {
        try account.checkMayAct()
        guard let code, !code.isEmpty else { throw AccountError.invalid(["code": "required"]) }
        let current = try await own(id, account: account)
        guard let raw = current.application.guardian?.phone, let phone = try? MobileNumber.validate(raw) else {
            throw AccountError.invalid(["guardian.phone": "required"])
        }
        let index = context.blindIndex.phone(phone)
        let now = self.now
        let codes = self.codes
        let sensitiveText = context.consents.text(.sensitive)
        let client = client ?? ConsentService.Client(channel: .api, ip: ip)
        let check = try await store.transaction { tx -> CodeService.Check in
            let check = try await codes.check(code: code, destinationIndexes: index.accepted, purpose: "guardian_consent:\(id.lowercasedText)",
                                              now: now, in: tx)
            guard case .accepted = check else { return check }
            var record = try await tx.cases.locked(id, version: current.version)
            record.guardianConsentAt = now
            try await tx.cases.save(&record, at: now)
            try await tx.audit("case.guardian_consented", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["guardianPhone": MobileNumber.mask(phone)], at: now)
            // The consent record: the guardian accepted the sensitive-data text for this child's application.
            try await ConsentService.record([sensitiveText], account: account.id, givenBy: .guardian, client: client, caseID: id, at: now, in: tx)
            return check
        }
        switch check {
        case .accepted: return try await own(id, account: account)
        case .wrong: throw AccountError.invalidCode
        case .expired: throw AccountError.codeExpired
        }
    }
}
