import Foundation
import ShimingCore
import Vapor

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
