import Fluent
import Foundation
import ShimingCore

/// What a case's work touches in other areas: its sealed documents and its review tasks.
/// (The review tasks' own service still works on Fluent records; these are the doors the case
/// service goes through meanwhile.)
extension Store {
    /// The documents (or proofs) of some parents, oldest first.
    func files(of parents: [UUID], purpose: String) async throws -> [StoredFile] {
        try await SealedFiles.files(of: parents, purpose: purpose, on: database)
    }

    /// Records a file already written (sealed) to the file store.
    func recordFile(in files: SealedFiles, id: UUID, owner: UUID, purpose: String, parent: UUID, kind: String?, sniffed: SniffedFile,
                    size: Int, at now: Date) async throws -> StoredFile {
        try await files.record(id: id, owner: owner, purpose: purpose, parent: parent, kind: kind, sniffed: sniffed, size: size, at: now, on: database)
    }

    /// Forgets files (their sealed bytes are removed by the caller after the commit).
    func deleteFiles(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await StoredFileRecord.query(on: database).filter(\.$id ~~ ids).delete()
    }

    /// Cancels the case's open review tasks.
    func cancelReviewTasks(caseID: UUID, at now: Date) async throws {
        try await ReviewTasks.cancelOpen(caseID: caseID, at: now, on: database)
    }

    /// Opens and routes the review task of a case entering review or appeal.
    @discardableResult
    func openReviewTask(for item: StoredCase, application: CaseApplication, applicant: Account, program: Program, kind: String = "review",
                        reason: String, excluded: UUID? = nil, context: ShimingContext, at now: Date) async throws -> UUID {
        try await ReviewTasks.open(for: item, application: application, applicant: applicant, program: program, kind: kind, reason: reason,
                                   excluded: excluded, context: context, at: now, on: database)
    }
}
