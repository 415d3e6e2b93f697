import Foundation
import ShimingCore
import SQLKit

extension CaseStore {
    /// PostgreSQL: the cases of `ids` that exist, with their documents and history, in one
    /// statement of three parts, each row marked by its part: the cases, their documents, their
    /// history, each read by its index with the ids as an array. The parts share one list of
    /// columns, each part filling its own and leaving the others null; the children come as
    /// plain columns, which the driver reads as it reads any row.
    ///
    /// Until session 56 the children came as two JSON columns built per case (two subplans, a
    /// JSON object per row, its dates turned into numbers) and parsed back here. Under the case
    /// read's load the server now runs a batch (14 reads on average) in 0.170 ms instead of
    /// 0.216 ms; a case read alone costs it about as much as before (pgbench: 0.171 against
    /// 0.157 ms for one id, 0.24 against 0.41 ms for 14). The case read's rate did not change
    /// beyond the noise of eight alternated rounds (docs/benchmarks.md, session 56).
    func wholes(_ ids: [UUID], documents purpose: String) async throws -> [UUID: Whole] {
        let wanted = "ANY((SELECT \(bind: ids))::uuid[])" as SQLQueryString
        let rows = try await db.sql().planned("""
            SELECT 0 AS part, \(Self.columns), \(Self.wholeChildColumns) FROM cases WHERE id = \(wanted)
            UNION ALL SELECT 1, parent_id, \(Self.wholeFileColumns) FROM stored_files WHERE parent_id = \(wanted) AND purpose = \(bind: purpose)
            UNION ALL SELECT 2, case_id, \(Self.wholeTransitionColumns) FROM case_transitions WHERE case_id = \(wanted)
            ORDER BY part, file_created_at, file_id, at, seq
            """ as SQLQueryString, forGrowth: growth).all()
        var wholes: [UUID: Whole] = [:]
        for row in rows {
            // Specialised for the app's own rows, as `value(row:)`.
            if let row = row as? KeptRow { try Self.add(row, to: &wholes) } else { try Self.add(row, to: &wholes) }
        }
        try await keys.load(wholes.values.map(\.0.accountID))
        return wholes
    }

    /// Adds a row of `wholes`' statement to the case it belongs to (the cases come first).
    private static func add(_ row: some SQLRow, to wholes: inout [UUID: Whole]) throws {
        switch try row.decode(column: "part", as: Int.self) {
        case 0:
            let item = try value(of: row)
            wholes[item.id] = (item, [], [])
        case 1:
            let file = try StoredFile(row: RenamedColumns(row, fileNames))
            wholes[file.parentID]?.documents.append(file)
        default:
            let (caseID, transition) = try transition(row: RenamedColumns(row, transitionNames))
            wholes[caseID]?.history.append(transition)
        }
    }

    /// The columns of `stored_files` and `case_transitions` with their types, in the order the
    /// statement's parts list them after the case's; named in the cases' part, where they are null.
    private static let wholeFiles: [(name: String, type: String)] = [
        ("id", "uuid"), ("owner_id", "uuid"), ("purpose", "text"), ("parent_id", "uuid"), ("kind", "text"), ("content_type", "text"),
        ("size", "bigint"), ("width", "bigint"), ("height", "bigint"), ("key_id", "text"), ("sealing", "text"), ("created_at", "timestamptz"),
    ]
    private static let wholeTransitions: [(name: String, type: String)] = [
        ("action", "text"), ("from_state", "text"), ("to_state", "text"), ("actor_kind", "text"), ("actor_id", "uuid"), ("rule", "text"),
        ("at", "timestamptz"), ("seq", "bigint"),
    ]
    /// The names the files' columns take where a case's column has the same name.
    private static let fileNames = [(usual: "id", renamed: "file_id"), (usual: "created_at", renamed: "file_created_at")]
    /// The history rows' case id is the column the case's id is in.
    private static let transitionNames = [(usual: "case_id", renamed: "id")]

    /// The cases' part: the children's columns null, typed and named.
    private static let wholeChildColumns = SQLQueryString((wholeFiles + wholeTransitions).map { column in
        "NULL::\(column.type) AS \(fileNames.first { $0.usual == column.name }?.renamed ?? column.name)"
    }.joined(separator: ", "))
    /// The files' part after its case id: the cases' other columns null, then the file's, then the history's null.
    private static let wholeFileColumns = SQLQueryString(
        (Array(repeating: "NULL", count: columnNames.count - 1) + wholeFiles.map(\.name) + wholeTransitions.map { _ in "NULL" })
            .joined(separator: ", "))
    /// The history's part after its case id: the cases' and the files' columns null, then the history row's.
    private static let wholeTransitionColumns = SQLQueryString(
        (Array(repeating: "NULL", count: columnNames.count - 1 + wholeFiles.count) + wholeTransitions.map(\.name)).joined(separator: ", "))
}

/// A row read under other names: `names` maps a column's usual name to the one it has here.
/// (For rows of one statement whose parts share one list of columns.)
struct RenamedColumns<Row: SQLRow>: SQLRow {
    let row: Row
    /// (usual name, name in the row): one or two, so compared in turn rather than hashed (every
    /// column of every document and history row of a case read is looked up through them).
    let names: [(usual: String, renamed: String)]

    init(_ row: Row, _ names: [(usual: String, renamed: String)]) {
        self.row = row
        self.names = names
    }

    private func renamed(_ column: String) -> String {
        for name in names where name.usual == column { return name.renamed }
        return column
    }

    var allColumns: [String] {
        row.allColumns.map { column in names.first { $0.renamed == column }?.usual ?? column }
    }

    func contains(column: String) -> Bool { row.contains(column: renamed(column)) }

    func decodeNil(column: String) throws -> Bool { try row.decodeNil(column: renamed(column)) }

    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        try row.decode(column: renamed(column), as: type)
    }
}
