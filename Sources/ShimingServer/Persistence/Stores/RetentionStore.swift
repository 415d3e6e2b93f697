import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// What the retention sweep finds and removes.
    var retention: RetentionStore { RetentionStore(db: database, cipher: cipher) }
}

/// The retention sweep's queries: which applications are past their program's periods, and the
/// statements that remove their personal data, each conditional on the version it was found at.
struct RetentionStore: Sendable {
    let db: any Database
    let cipher: FieldCipher

    /// An application past a period, as found.
    struct Due: Sendable, Equatable {
        var caseID: UUID
        var version: Int
        var state: CaseState
    }

    /// Decided applications of a program whose decision is older than `cutoff` and which still
    /// hold document files, with those files.
    func documentsDue(program: String, before cutoff: Date, limit: Int) async throws -> [(Due, [UUID])] {
        let rows = try await db.sql().raw("""
            SELECT c.id AS case_id, c.version AS version, c.state AS state, f.id AS file_id FROM cases c
            JOIN stored_files f ON f.parent_id = c.id AND f.purpose = \(bind: CaseService.documentPurpose)
            WHERE c.program = \(bind: program) AND c.state IN ('verified', 'expired', 'rejected', 'withdrawn')
            AND COALESCE(c.verified_at, c.updated_at) < \(bind: cutoff)
            ORDER BY c.id, f.id
            """).all()
        var found: [(Due, [UUID])] = []
        for row in rows {
            let id = try row.decode(column: "case_id", as: UUID.self)
            let file = try row.decode(column: "file_id", as: UUID.self)
            if let last = found.last, last.0.caseID == id {
                found[found.count - 1].1.append(file)
            } else {
                guard found.count < limit else { break }
                let state = CaseState(rawValue: try row.decode(column: "state", as: String.self)) ?? .draft
                found.append((Due(caseID: id, version: try row.decode(column: "version", as: Int.self), state: state), [file]))
            }
        }
        return found
    }

    /// Applications of a program to shred, not shredded yet: rejected and withdrawn ones whose
    /// last change, and drafts and returned ones left untouched since, are older than
    /// `abandoned`; expired verifications that ran out before `ended`.
    func shreddingDue(program: String, abandoned: Date, ended: Date, limit: Int) async throws -> [Due] {
        try await db.sql().raw("""
            SELECT id, version, state FROM cases
            WHERE program = \(bind: program) AND shredded_at IS NULL
            AND ((state IN ('rejected', 'withdrawn', 'draft', 'returned') AND updated_at < \(bind: abandoned))
                 OR (state = 'expired' AND expires_at < \(bind: ended)))
            ORDER BY id LIMIT \(bind: limit)
            """).all().map { row in
                Due(caseID: try row.decode(column: "id", as: UUID.self), version: try row.decode(column: "version", as: Int.self),
                    state: CaseState(rawValue: try row.decode(column: "state", as: String.self)) ?? .draft)
            }
    }

    /// Shreds an application as read at its version: its data becomes an empty application, its
    /// number index, class, confirmation and the decision's words (staff note, message to the
    /// applicant) go, and so do staff's contact notes; false when the case moved on or was
    /// shredded already. Retention and erasure both shred through here.
    func shred(_ item: StoredCase, at now: Date) async throws -> Bool {
        var decision = item.decision
        decision?.noteSealed = nil
        decision?.messageSealed = nil
        let empty = String(decoding: try JSONEncoder().encode(CaseApplication()), as: UTF8.self)
        let shredded = try await db.sql().raw("""
            UPDATE cases SET data_sealed = \(bind: try cipher.seal(empty, context: StoredCase.dataContext(item.id))), number_index = NULL,
            scope_school = NULL, scope_grade = NULL, scope_class = NULL, confirmation_hash = NULL,
            decision_json = \(bind: try decision.map(StoredJSON.text)), shredded_at = \(bind: now), version = version + 1
            WHERE id = \(bind: item.id) AND version = \(bind: item.version) AND shredded_at IS NULL
            RETURNING id
            """).first() != nil
        if shredded { try await deleteContacts(of: item.id) }
        return shredded
    }

    /// Staff's notes of contacts about a case.
    private func deleteContacts(of caseID: UUID) async throws {
        try await CaseContactRecord.query(on: db).filter(\.$caseID == caseID).delete()
    }
}
