import Fluent
import Foundation
import ShimingCore
import SQLKit

extension RosterStore {
    /// Moves up to `limit` lines stored before the compact form (`roster_entries`, sealed JSON
    /// text under UUID ids) after `cursor` into segments and `roster_lines`, in one transaction
    /// (a conversion stopped anywhere resumes; a line another instance took meanwhile is skipped). A line that does not open stays where it is and
    /// is counted; the cursor moves past it. Answers the cursor to go on from (nil: done).
    func convertLegacy(after cursor: UUID?, limit: Int, random: any RandomSource) async throws -> (converted: Int, unreadable: Int, cursor: UUID?) {
        try await gate.transaction(on: db) { tx in
            let sql = try tx.sql()
            let after: SQLQueryString = cursor.map { "WHERE id > \(bind: $0)" } ?? ""
            let rows = try await sql.raw("""
                SELECT id, import_id, school_key, number_index, data_sealed FROM roster_entries \(after) ORDER BY id LIMIT \(bind: limit)
                """).all()
            let sealer = cipher.binarySealer()
            let nonces = random.bytes(12 * rows.count)
            var segments: [String: Int64] = [:]
            var (converted, unreadable) = (0, 0)
            for (position, row) in rows.enumerated() {
                let id = try row.decode(column: "id", as: UUID.self)
                guard let json = try? cipher.open(try row.decode(column: "data_sealed", as: String.self), context: RosterLine.legacyContext(id)),
                      let line = try? JSONDecoder().decode(RosterLine.self, from: Data(json.utf8)) else {
                    unreadable += 1
                    continue
                }
                // Taken out first: an instance converting at the same time moves each line once.
                guard try await sql.raw("DELETE FROM roster_entries WHERE id = \(bind: id) RETURNING id").first() != nil else { continue }
                let importID = try row.decode(column: "import_id", as: UUID.self)
                let schoolKey = try row.decode(column: "school_key", as: String.self)
                let segmentKey = importID.uuidString + "\u{1}" + line.school
                var segment = segments[segmentKey]
                if segment == nil {
                    segment = try await sql.raw("""
                        SELECT id FROM roster_segments WHERE import_id = \(bind: importID) AND school = \(bind: line.school)
                        """).first().map { try $0.decode(column: "id", as: Int64.self) }
                }
                if segment == nil {
                    segment = try await sql.raw("""
                        INSERT INTO roster_segments (import_id, school_key, school) VALUES (\(bind: importID), \(bind: schoolKey), \(bind: line.school)) RETURNING id
                        """).first().map { try $0.decode(column: "id", as: Int64.self) }
                }
                segments[segmentKey] = segment
                let index = Self.shortIndex(try row.decode(column: "number_index", as: String.self))
                let sealed = try sealer.seal(line.packed, nonce: FieldCipher.nonce(position, of: nonces),
                                             authenticating: RosterLine.context(importID: importID, school: line.school, index: index))
                try await sql.raw("""
                    INSERT INTO roster_lines (segment, number_index, data) VALUES (\(bind: segment ?? 0), \(bind: Data(index)), \(bind: Data(sealed)))
                    """).run()
                converted += 1
            }
            return (converted, unreadable, rows.count < limit ? nil : try rows.last?.decode(column: "id", as: UUID.self))
        }
    }
}
