import Fluent
import Foundation
import ShimingCore

/// Small questions about other areas' rows that a service asks without loading them.
extension Store {
    /// The program a case is under; nil for an unknown case.
    func program(ofCase id: UUID) async throws -> String? {
        try await CaseRecord.query(on: database).filter(\.$id == id).field(\.$program).first()?.program
    }

    /// The owner of a case; nil for an unknown case.
    func owner(ofCase id: UUID) async throws -> UUID? {
        try await CaseRecord.query(on: database).filter(\.$id == id).field(\.$accountID).first()?.accountID
    }

    /// An account, opened; nil when there is none.
    func account(_ id: UUID) async throws -> Account? {
        try await AccountRecord.find(id, on: database)?.account(cipher: cipher)
    }

    func accountExists(_ id: UUID) async throws -> Bool {
        try await AccountRecord.query(on: database).filter(\.$id == id).count() > 0
    }

    /// Whether the case's latest review task is one this staff member may see (teachers: their
    /// class; reviewers: the pool; supervisors and admins: every task).
    func mayStaffSee(caseID: UUID, staff: Account) async throws -> Bool {
        try await ReviewTasks.latestVisible(caseID: caseID, to: staff, in: self) != nil
    }
}
