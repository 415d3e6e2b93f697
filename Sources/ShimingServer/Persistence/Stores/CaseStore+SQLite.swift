import Foundation
import ShimingCore
import SQLiteNIO
import SQLKit

extension CaseStore {
    /// `whole` on SQLite: the case, its documents and its history in three statements (three
    /// prepared statements cost less than one aggregating them as JSON, which has to be parsed).
    ///
    /// On the app's own connections (`DirectSQLiteDatabase`, always, but for a database set up
    /// otherwise) the statements are fixed text with their values bound directly, and their rows
    /// are read as `DirectSQLiteRow`s: the mappings (`value(row:)`, `StoredFile(row:)`,
    /// `transition(row:)`) are then specialised for them, where through `any SQLRow` every
    /// column was a dynamic call and a look-up of its type's metadata. Every case read of an
    /// applicant comes here.
    func wholeOnSQLite(_ id: UUID, documents purpose: String) async throws -> Whole? {
        guard let sqlite = db as? DirectSQLiteDatabase else {
            guard let item = try await find(id) else { return nil }
            return (item, try await SealedFiles.files(of: [id], purpose: purpose, on: db), try await history(of: [id])[id] ?? [])
        }
        let caseID = SQLiteData.text(id.uuidText)
        guard let row = try sqlite.query(Self.sqliteCase, [caseID]).first else { return nil }
        let item = try Self.value(row: row)
        try await keys.load([item.accountID])
        let documents = try sqlite.query(Self.sqliteDocuments, [caseID, .text(purpose)]).map { try StoredFile(row: $0) }
        let history = try sqlite.query(Self.sqliteHistory, [caseID]).map { try Self.transition(row: $0).transition }
        return (item, documents, history)
    }

    /// The statements of `find`, `SealedFiles.files` and `history` for one case, as SQLite's text.
    private static let sqliteCase = "SELECT \(columnNames.joined(separator: ", ")) FROM cases WHERE id = ?"
    private static let sqliteDocuments = """
        SELECT \(StoredFile.columnNames.joined(separator: ", ")) FROM stored_files WHERE parent_id = ? AND purpose = ? ORDER BY created_at, id
        """
    private static let sqliteHistory = "SELECT \(transitionColumns.joined(separator: ", ")) FROM case_transitions WHERE case_id = ? ORDER BY at, seq"
}
