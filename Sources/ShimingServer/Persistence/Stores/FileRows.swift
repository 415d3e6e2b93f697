import Fluent
import Foundation
import ShimingCore
import SQLKit

/// A case's sealed documents (and a change request's proofs): the file rows, whose bytes
/// `SealedFiles` keeps.
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

    /// Bytes stored for an account (its documents and proofs), the account row locked first on
    /// PostgreSQL so that two uploads at once count one after the other.
    func storedBytes(of owner: UUID) async throws -> Int {
        try await accounts.lockRow(owner)
        return try await fileBytes(of: owner)
    }

    /// What an account's documents and proofs come to, in bytes (no lock).
    func fileBytes(of owner: UUID) async throws -> Int {
        let row = try await database.sql().raw("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS total FROM stored_files WHERE owner_id = \(bind: owner)").first()
        return try row?.decode(column: "total", as: Int.self) ?? 0
    }

    /// Forgets files (their sealed bytes are removed by the caller after the commit).
    func deleteFiles(_ ids: [UUID]) async throws {
        guard !ids.isEmpty else { return }
        try await StoredFileRecord.query(on: database).filter(\.$id ~~ ids).delete()
    }
}
