import Foundation
import IdentityRules
import ShimingCore

/// Revealing a masked value for a stated purpose, and the contact log of a case: the two ways a
/// reviewer reaches past the masked case, both audited.
extension ReviewService {
    /// The fields a reviewer may reveal, and where their values are.
    static let revealable: [String: @Sendable (Account, CaseApplication) -> String?] = [
        "identity.name": { $1.identity.name },
        "identity.documentNumber": { $1.identity.documentNumber },
        "identity.address": { $1.identity.address },
        "contact.phone": { $1.contact?.phone },
        "contact.email": { $1.contact?.email },
        "guardian.name": { $1.guardian?.name },
        "guardian.phone": { $1.guardian?.phone },
        "guardian.documentNumber": { $1.guardian?.documentNumber },
        "organisation.representative": { $1.organisation?.representative },
        "account.phone": { a, _ in a.phone },
        "account.email": { a, _ in a.email },
    ]

    /// The revealable fields in the order a reviewer needs them.
    static let revealOrder = ["identity.documentNumber", "identity.name", "identity.address", "contact.phone", "contact.email",
                              "guardian.name", "guardian.phone", "guardian.documentNumber", "organisation.representative",
                              "account.phone", "account.email"]

    /// One unmasked value of a visible case, for a stated purpose; audited.
    func reveal(caseID: UUID, field: String?, purpose: String?, staff: Account, ip: String?) async throws -> String {
        var fields: [String: String] = [:]
        let field = field?.trimmingCharacters(in: .whitespaces) ?? ""
        let purpose = purpose?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if Self.revealable[field] == nil { fields["field"] = field.isEmpty ? "required" : "invalid_value" }
        if purpose.count < 4 { fields["purpose"] = purpose.isEmpty ? "required" : "invalid_length" }
        if purpose.count > 200 { fields["purpose"] = "invalid_length" }
        guard fields.isEmpty, let read = Self.revealable[field] else { throw AccountError.invalid(fields) }
        let (_, record) = try await visibleCase(caseID, staff: staff)
        let (applicant, application) = try await parties(of: record)
        guard let value = read(applicant, application) else { throw AccountError.invalid(["field": "not_present"]) }
        let now = cases.now
        // The purpose may name the person or their circumstances: sealed like any free text.
        let sealedPurpose = try cases.cipher.seal(purpose, context: Self.revealPurposeContext(caseID))
        try await store.transaction { tx in
            try await tx.audit("case.revealed", actor: .staff(staff.id), subject: CaseService.subject(caseID), ip: ip,
                               details: ["field": field, "purposeSealed": sealedPurpose], at: now)
            try await tx.reviewTasks.touch(caseID: caseID, staff: staff.id, at: now)
        }
        return value
    }

    /// The encryption context of a reveal's purpose in the audit details.
    static func revealPurposeContext(_ caseID: UUID) -> String { "audit.reveal_purpose.\(caseID.lowercasedText)" }

    static let contactChannels = ["phone", "sms", "email", "in_person"]

    struct Contact: Sendable {
        var id: UUID
        var staffID: UUID
        var channel: String
        var note: String
        var at: Date
    }

    /// Records a contact with the applicant about a visible case (P1: "contact the student").
    func recordContact(caseID: UUID, channel: String?, note: String?, staff: Account, ip: String?) async throws -> Contact {
        var fields: [String: String] = [:]
        let channel = channel ?? ""
        let note = note?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if !Self.contactChannels.contains(channel) { fields["channel"] = channel.isEmpty ? "required" : "invalid_value" }
        if note.isEmpty { fields["note"] = "required" } else if note.count > 2000 { fields["note"] = "invalid_length" }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        _ = try await visibleCase(caseID, staff: staff)
        let now = cases.now
        let id = UUID()
        try await store.transaction { tx in
            try await tx.reviewTasks.addContact(id: id, caseID: caseID, staff: staff.id, channel: channel, note: note, at: now)
            try await tx.audit("case.contact_recorded", actor: .staff(staff.id), subject: CaseService.subject(caseID), ip: ip,
                               details: ["channel": channel, "contact": id.lowercasedText], at: now)
            try await tx.reviewTasks.touch(caseID: caseID, staff: staff.id, at: now)
        }
        return Contact(id: id, staffID: staff.id, channel: channel, note: note, at: now)
    }

    func contacts(caseID: UUID) async throws -> [Contact] {
        try await store.reviewTasks.contacts(caseID: caseID)
    }
}
