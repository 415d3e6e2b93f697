import Foundation
import ShimingCore
import SQLiteNIO
import SQLKit

extension CaseStore {
    // MARK: Mapping

    /// The columns of `cases` a `StoredCase` is made of.
    static let columnNames = [
        "id", "account_id", "program", "state", "data_sealed", "number_index", "scope_school", "scope_grade", "scope_class", "identity_code",
        "checks_json", "decision_json", "guardian_consent_at", "confirmation_hash", "confirmation_expires_at", "confirmation_attempts",
        "submitted_at", "verified_at", "expires_at", "reminded_at", "created_at", "updated_at", "version",
    ]
    /// The same, for a `SELECT`.
    static let columns = SQLQueryString(columnNames.joined(separator: ", "))
    /// Those of them that are timestamps (for `JSONRows`).
    static let dateColumns: Set = ["guardian_consent_at", "confirmation_expires_at", "submitted_at", "verified_at", "expires_at", "reminded_at",
                                   "created_at", "updated_at"]

    /// A row read with `columns`. The mapping is specialised for the app's own rows (SQLite's,
    /// and PostgreSQL's kept statements'): through `any SQLRow`, each of its columns was a
    /// dynamic call and a look-up of its type's metadata, a fifth of an applicant's case read.
    static func value(row: any SQLRow) throws -> StoredCase {
        switch row {
        case let row as KeptRow: try value(of: row)
        case let row as DirectSQLiteRow: try value(of: row)
        default: try value(of: row)
        }
    }

    static func value(of row: some SQLRow) throws -> StoredCase {
        var item = StoredCase(
            id: try row.value("id"), accountID: try row.value("account_id"), program: try row.value("program"),
            state: CaseState(rawValue: try row.value("state")) ?? .draft, dataSealed: try row.value("data_sealed"),
            numberIndex: try row.value("number_index"), scopeSchool: try row.value("scope_school"), scopeGrade: try row.value("scope_grade"),
            scopeClass: try row.value("scope_class"), identityCode: try row.value("identity_code"),
            guardianConsentAt: try row.value("guardian_consent_at"), confirmationHash: try row.value("confirmation_hash"),
            confirmationExpiresAt: try row.value("confirmation_expires_at"), confirmationAttempts: try row.value("confirmation_attempts"),
            submittedAt: try row.value("submitted_at"), verifiedAt: try row.value("verified_at"), expiresAt: try row.value("expires_at"),
            remindedAt: try row.value("reminded_at"), createdAt: try row.value("created_at"), updatedAt: try row.value("updated_at"),
            version: try row.value("version")
        )
        item.$checks = LazyJSON(columnText: try row.value("checks_json"))
        item.$decision = LazyJSON(columnText: try row.value("decision_json"))
        return item
    }

    // MARK: SQLite's case read

    /// `whole` on the app's own SQLite connections: the case, its documents and its history in
    /// three statements (three prepared statements cost less than one aggregating them as JSON,
    /// which has to be parsed), each fixed text with its values bound directly, their rows read
    /// as `DirectSQLiteRow`s. The mappings (`value(of:)`, `StoredFile(row:)`, `transition(row:)`)
    /// are then specialised for them, where through `any SQLRow` every column was a dynamic call
    /// and a look-up of its type's metadata. Every case read of an applicant comes here.
    func whole(_ id: UUID, documents purpose: String, on sqlite: DirectSQLiteDatabase) async throws -> Whole? {
        let caseID = SQLiteData.text(id.uuidText)
        guard let row = try sqlite.query(Self.sqliteCase, [caseID]).first else { return nil }
        let item = try Self.value(of: row)
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
