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
}

/// Reasons a person gives for rejecting or returning a case, with what the applicant should do.
enum ReviewReasons {
    static let all: [(code: String, text: LocalizedText)] = [
        ("name_mismatch", LocalizedText("姓名与证件不一致，请按证件上的姓名填写。", "The name differs from the document; enter it exactly as on the document.")),
        ("number_mismatch", LocalizedText("证件号码与证件照片不一致，请核对后重新填写。", "The number differs from the document photo; check and enter it again.")),
        ("document_unreadable", LocalizedText("证件照片看不清，请在光线充足处拍摄完整、清晰的照片后重新上传。",
                                              "The document photo cannot be read; take a sharp photo of the whole document in good light and upload it again.")),
        ("document_mismatch", LocalizedText("上传的材料与填写的信息不符，请上传本人的证件。", "The uploaded document does not belong to the details given; upload your own document.")),
        ("information_incomplete", LocalizedText("信息不完整，请补全后重新提交。", "Information is missing; complete it and submit again.")),
        ("duplicate_identity", LocalizedText("该证件已在其他账号上认证。如有疑问请联系客服。", "This identity is already verified on another account; contact support if this is wrong.")),
        ("suspected_fraud", LocalizedText("材料存在疑点，未能通过。如有异议可以申诉。", "The material raised doubts and was not accepted; you may appeal.")),
    ]

    static func text(_ code: String) -> LocalizedText? { all.first { $0.code == code }?.text }
}

extension Case {
    /// What the applicant (and anyone who may see the case) reads about the last decision.
    func decisionReasons() -> [(code: String, field: String?, message: LocalizedText)] {
        guard let decision else { return [] }
        if decision.decidedBy == "system" {
            return checks.filter { !$0.passed }.map { ($0.code, $0.field, $0.reason) }
        }
        return decision.reasons.map { ($0, nil, ReviewReasons.text($0) ?? LocalizedText($0, $0)) }
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
        let compact = number.uppercased().filter { !$0.isWhitespace }
        if compact.count == 18 { return ResidentIDNumber.mask(compact) }
        return Masking.keep(first: 2, last: 2, of: compact)
    }
}
