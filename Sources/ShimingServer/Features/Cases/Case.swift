import Foundation
import IdentityRules
import ShimingCore

/// A case as the rest of the server sees it: decrypted, with its documents and history.
struct Case: Sendable {
    struct Transition: Sendable, Equatable {
        var action: String
        var from: CaseState?
        var state: CaseState
        /// `applicant`, `staff` or `system`.
        var actorKind: String
        var actorID: UUID?
        var rule: String?
        var at: Date
    }

    var id: UUID
    var accountID: UUID
    var program: String
    var state: CaseState
    var application: CaseApplication
    var numberIndex: String?
    var identityCode: String?
    var checks: [CheckResult]
    var decision: CaseDecision?
    var documents: [StoredFile]
    var history: [Transition]
    var guardianConsentAt: Date?
    var confirmationExpiresAt: Date?
    var confirmationAttempts: Int
    var submittedAt: Date?
    var verifiedAt: Date?
    var expiresAt: Date?
    var createdAt: Date
    var updatedAt: Date
    var version: Int
    /// The reviewer's words to the applicant about the last decision, opened from `decision.messageSealed`.
    var decisionMessage: String? = nil
}

/// The last decision on a case: by the machine (`decidedBy` = `system`) or by a person.
struct CaseDecision: Sendable, Codable, Equatable {
    /// `approved`, `needs_review`, `returned` (automatic) or `approve`, `reject`, `return` (a person).
    var outcome: String
    /// Which rule decided (`checks.fix`, `checks.review`, `program.review_always`,
    /// `checks.all_passed`, `review.decision`).
    var rule: String
    /// Failing check codes, or the reviewer's reason codes.
    var reasons: [String]
    /// `system`, or the deciding staff member's id.
    var decidedBy: String
    var decidedAt: Date
    /// A staff member's note (never shown to the applicant), sealed.
    var noteSealed: String?
    /// The reasons' texts as the applicant was given them (the list can change later).
    var reasonTexts: [String: LocalizedText]?
    /// For a person's decision: which field or document each reason is about (`documents.id_front`).
    var fields: [String: String]? = nil
    /// The reviewer's words to the applicant, sealed (`CaseRecord.messageContext`).
    var messageSealed: String? = nil
}

extension Case {
    /// What the applicant (and anyone who may see the case) reads about the last decision.
    func decisionReasons() -> [(code: String, field: String?, message: LocalizedText)] {
        guard let decision else { return [] }
        if decision.decidedBy == "system" {
            return checks.filter { !$0.passed && $0.ran }.map { ($0.code, $0.field, $0.reason) }
        }
        return decision.reasons.map { code in
            let text = decision.reasonTexts?[code] ?? ReviewReasonList.defaults.text(code) ?? LocalizedText(code, code)
            guard let field = decision.fields?[code] else { return (code, nil, text) }
            let label = CheckReasons.fieldLabel(field)
            return (code, field, LocalizedText("「\(label.zh)」：\(text.zh)", "\(label.en): \(text.en)"))
        }
    }

    /// The step the applicant should open to fix the last decision: the first field a reason
    /// names (a person's, or the checks'), in the order the steps come.
    var flaggedFields: [String] {
        guard state == .returned else { return [] }
        return decisionReasons().compactMap(\.field)
    }

    /// The documents as the checks see them.
    var uploadedDocuments: [UploadedDocument] {
        documents.compactMap { file in
            guard let kind = file.kind.flatMap(Program.DocumentKind.init(rawValue:)) else { return nil }
            return UploadedDocument(kind: kind, file: SniffedFile(format: file.format, width: file.width, height: file.height), size: file.size)
        }
    }

    /// The identity number as shown on screens.
    var maskedNumber: String? {
        guard let number = application.identity.documentNumber, !number.isEmpty else { return nil }
        return Case.mask(number: number)
    }

    static func mask(number: String) -> String {
        let compact = Self.printableASCIIUppercased(number) ?? number.uppercased().filter { !$0.isWhitespace }
        if compact.count == 18 { return ResidentIDNumber.mask(compact) }
        return Masking.keep(first: 2, last: 2, of: compact)
    }

    /// `text` upper-cased when it is all printable ASCII (no spaces to drop), else nil: the
    /// form stored numbers have, without the character-level steps.
    private static func printableASCIIUppercased(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes in
            guard bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
            return String(unsafeUninitializedCapacity: bytes.count) { out in
                for (index, byte) in bytes.enumerated() {
                    out[index] = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) ? byte - 0x20 : byte
                }
                return bytes.count
            }
        }
    }
}
