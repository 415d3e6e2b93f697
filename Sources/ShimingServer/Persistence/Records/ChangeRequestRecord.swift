import Fluent
import Foundation
import IdentityRules
import ShimingCore

final class ChangeRequestRecord: Model, @unchecked Sendable {
    static let schema = "change_requests"

    @ID(key: .id) var id: UUID?
    @Field(key: "account_id") var accountID: UUID
    @Field(key: "field") var field: String
    @Field(key: "new_value_sealed") var newValueSealed: String
    @OptionalField(key: "old_value_sealed") var oldValueSealed: String?
    @Field(key: "reason_sealed") var reasonSealed: String
    @Field(key: "state") var state: String
    @OptionalField(key: "decided_by") var decidedBy: UUID?
    @OptionalField(key: "decided_at") var decidedAt: Date?
    @OptionalField(key: "decision_note_sealed") var decisionNoteSealed: String?
    @Field(key: "created_at") var createdAt: Date

    init() {}

    static func context(_ column: String, _ id: UUID) -> String { "change_request.\(column).\(id.lowercasedText)" }

    func changeRequest(cipher: FieldCipher, proofs: [StoredFile]) throws -> ChangeRequest {
        let id = try requireID()
        return ChangeRequest(
            id: id, accountID: accountID, field: ChangeRequestField(rawValue: field) ?? .username,
            newValue: try cipher.open(newValueSealed, context: Self.context("new_value", id)),
            oldValue: try oldValueSealed.map { try cipher.open($0, context: Self.context("old_value", id)) },
            reason: try cipher.open(reasonSealed, context: Self.context("reason", id)),
            state: ChangeRequestState(rawValue: state) ?? .pending, decidedBy: decidedBy, decidedAt: decidedAt,
            decisionNote: try decisionNoteSealed.map { try cipher.open($0, context: Self.context("decision_note", id)) },
            createdAt: createdAt, proofs: proofs
        )
    }
}
