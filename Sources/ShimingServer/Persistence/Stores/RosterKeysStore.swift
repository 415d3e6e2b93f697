import Fluent
import Foundation
import ShimingCore
import SQLKit

/// A stored roll line with what binds its sealed fields, for re-indexing (`keys reindex`) and
/// re-sealing under a new master key version (`keys rotate`).
struct StoredRosterLine: Sendable {
    let id: Int64
    let index: [UInt8]
    let data: [UInt8]
    let importID: UUID
    let school: String

    var context: [UInt8] { RosterLine.context(importID: importID, school: school, index: index) }
}

extension RosterStore {
    /// Up to `limit` lines in id order after `cursor`; with `notUnder`, only those sealed under
    /// another key version.
    func stored(after cursor: Int64?, limit: Int, notUnder keyID: String? = nil) async throws -> [StoredRosterLine] {
        let besides: SQLQueryString = keyID.map { "AND substr(l.data, 2, 4) <> \(bind: Data(FieldCipher.binaryKeyID($0)))" } ?? ""
        let rows = try await db.sql().raw("""
            SELECT l.id, l.number_index, l.data, s.import_id, s.school FROM roster_lines l JOIN roster_segments s ON s.id = l.segment
            WHERE l.id > \(bind: cursor ?? 0) \(besides) ORDER BY l.id LIMIT \(bind: limit)
            """).all()
        return try rows.map { row in
            StoredRosterLine(id: try row.decode(column: "id", as: Int64.self), index: [UInt8](try row.decode(column: "number_index", as: Data.self)),
                             data: [UInt8](try row.decode(column: "data", as: Data.self)), importID: try row.decode(column: "import_id", as: UUID.self),
                             school: try row.decode(column: "school", as: String.self))
        }
    }

    /// How many lines are sealed under one master key version.
    func count(under keyID: String) async throws -> Int {
        let row = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM roster_lines WHERE substr(data, 2, 4) = \(bind: Data(FieldCipher.binaryKeyID(keyID)))
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Puts a new index and sealed value in a line that still holds what `line` read; answers
    /// whether it changed (a line changed or removed meanwhile is left for the next pass).
    func replace(_ line: StoredRosterLine, index: [UInt8], data: [UInt8]) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE roster_lines SET number_index = \(bind: Data(index)), data = \(bind: Data(data))
            WHERE id = \(bind: line.id) AND number_index = \(bind: Data(line.index)) AND data = \(bind: Data(line.data)) RETURNING id
            """).first() != nil
    }

    /// How many lines hold one of these number indexes (hex, as `IndexProbe` has them).
    func count(holding indexes: [String]) async throws -> Int {
        guard !indexes.isEmpty else { return 0 }
        let row = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM roster_lines WHERE number_index IN (\(binds: indexes.map { Data(Self.shortIndex($0)) }))
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }
}
