import Foundation
import ShimingCore

/// A case as it is stored, inside a transaction: what the applicant stated stays sealed
/// (`dataSealed`; `CaseService.application(of:)` opens it), the clear columns are what queries
/// need. Changed and saved through `CaseStore`, which moves `version` on in the same statement
/// that checks it.
struct StoredCase: Sendable, Equatable {
    var id: UUID
    var accountID: UUID
    var program: String
    var state: CaseState
    var dataSealed: String
    /// The blind index of the normalised identity number (duplicate look-ups).
    var numberIndex: String?
    /// The school, grade and class that route the case to its teacher (P4), label keys.
    var scopeSchool: String?
    var scopeGrade: String?
    var scopeClass: String?
    var identityCode: String?
    /// The last automatic check results (codes only, no personal data); decoded when first read.
    @LazyJSON var checks: [CheckResult]? = nil
    /// The last decision (automatic or by a person); a staff note inside is sealed. Decoded when
    /// first read.
    @LazyJSON var decision: CaseDecision? = nil
    var guardianConsentAt: Date?
    var confirmationHash: String?
    var confirmationExpiresAt: Date?
    var confirmationAttempts: Int
    var submittedAt: Date?
    var verifiedAt: Date?
    var expiresAt: Date?
    /// When the holder was told that the verification runs out.
    var remindedAt: Date?
    var createdAt: Date
    var updatedAt: Date
    /// The version this value was read at; `CaseStore.save` refuses it once someone moved on.
    var version: Int
    /// Not a column: the history rows `CaseStore.moves` wrote for this value since it was read,
    /// in order, so that a caller can answer the case it wrote without reading it back.
    var moved: [Case.Transition] = []

    /// The encryption contexts of a case's sealed values.
    static func dataContext(_ id: UUID) -> String { "case.data.\(id.lowercasedText)" }
    static func noteContext(_ id: UUID) -> String { "case.note.\(id.lowercasedText)" }
    static func messageContext(_ id: UUID) -> String { "case.message.\(id.lowercasedText)" }
}

extension StoredCase {
    /// Who made the last decision (`system`, or a staff member's id), read without decoding
    /// the rest of it (the verification query's level needs no more).
    var decidedBy: String? { $decision.part(Decider.self) { Decider(decidedBy: $0.decidedBy) }?.decidedBy }

    /// The same from a decision as stored (`decision_json`): nil where there is none, or where
    /// the text does not decode (as `LazyJSON` reads it).
    static func decidedBy(decisionJSON text: String?) -> String? {
        guard let text else { return nil }
        // Read off the tree where it parses (every verification query on PostgreSQL reads one).
        if case .object(let decision)? = try? JSONTree.parse(text) {
            guard case .text(let decidedBy)? = decision["decidedBy"] else { return nil }
            return decidedBy
        }
        return (try? StoredJSON.decode(Decider.self, from: text))?.decidedBy
    }

    private struct Decider: Decodable {
        var decidedBy: String
    }
}
