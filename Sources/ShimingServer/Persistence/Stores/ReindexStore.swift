import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Recomputing blind indexes under a new index key (`keys reindex`).
    var reindex: ReindexStore { ReindexStore(db: database, cipher: cipher, keys: keys) }
}

/// A column of blind indexes whose value the row keeps sealed beside it, so a re-index can open
/// the value and put the new key's index in place of the previous key's. Every indexed column
/// is listed here once (the school roll's lines, bytes with integer ids, have a walk of their
/// own: `ReindexService.rosterStep`); what is counted or issued per index (limit windows, identity codes)
/// follows its index.
struct IndexedColumn: Sendable {
    let table: String
    let index: String
    let sealed: String
    let context: @Sendable (UUID) -> String
    /// The blind index's domain (`phone`, `email`, the identity number's).
    let domain: String
    /// What the sealed column holds, and so how the indexed value is read from it.
    let holds: Holds
    /// Another column needed to read the value from the sealed one (a case's program).
    var extra: String?
    /// Whether no two rows may hold the same index.
    var unique = false
    /// The limit windows counted per value, keyed by this prefix and the index.
    var limitPrefix: String?
    /// Whether identity codes are issued per value of this column.
    var identityCodes = false

    var name: String { table + "." + index }

    enum Holds: Sendable {
        /// The indexed value itself (a contact).
        case value
        /// An application, whose number its program reads (`extra` names the program).
        case application
    }

    static let all: [IndexedColumn] = [
        contact("phone", domain: "phone", unique: true),
        contact("email", domain: "email", unique: true),
        contact("guardian_phone", domain: "phone", unique: false),
        IndexedColumn(table: "cases", index: "number_index", sealed: "data_sealed", context: StoredCase.dataContext,
                      domain: CaseService.numberDomain, holds: .application, extra: "program", limitPrefix: "registry:number:", identityCodes: true),
    ]

    private static func contact(_ field: String, domain: String, unique: Bool) -> IndexedColumn {
        IndexedColumn(table: "accounts", index: field + "_index", sealed: field + "_sealed", context: { AccountRecord.context(field, $0) },
                      domain: domain, holds: .value, unique: unique, limitPrefix: "code:to:")
    }
}

/// One row of an indexed column: its index and its value opened (nil when it does not open).
struct IndexedRow: Sendable {
    let id: UUID
    let index: String
    let plaintext: Data?
    let extra: String?
}

/// The statements of a re-index: read a page of rows with their values, and swap an index only
/// where the row still holds the previous one, so a re-index can stop and resume anywhere and a
/// row written meanwhile is never overwritten.
struct ReindexStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let keys: AccountKeys

    /// Up to `limit` rows holding an index, in id order after `cursor`, their values opened.
    func rows(_ column: IndexedColumn, after cursor: UUID?, limit: Int) async throws -> [IndexedRow] {
        let after: SQLQueryString = cursor.map { "AND id > \(bind: $0)" } ?? ""
        let extra: SQLQueryString = column.extra.map { ", \(ident: $0) AS extra" } ?? ""
        let rows = try await db.sql().raw("""
            SELECT id, \(ident: column.index) AS stored_index, \(ident: column.sealed) AS sealed \(extra)
            FROM \(ident: column.table) WHERE \(ident: column.index) IS NOT NULL \(after) ORDER BY id LIMIT \(bind: limit)
            """).all()
        let read = try rows.map { row in
            (id: try row.decode(column: "id", as: UUID.self), index: try row.decode(column: "stored_index", as: String.self),
             sealed: try row.decode(column: "sealed", as: String?.self),
             extra: column.extra == nil ? nil : try row.decode(column: "extra", as: String?.self))
        }
        try await keys.prepare(read.compactMap(\.sealed))
        return read.map { row in
            IndexedRow(id: row.id, index: row.index, plaintext: row.sealed.flatMap { try? cipher.openData($0, context: column.context(row.id)) },
                       extra: row.extra)
        }
    }

    /// Puts `new` in place of `old` in one row if it still holds `old` (and, for a unique
    /// index, no other row holds `new`); then what is counted or issued under `old` follows.
    /// Answers whether the row changed.
    func replace(_ column: IndexedColumn, id: UUID, old: String, new: String) async throws -> Bool {
        let sql = try db.sql()
        let free: SQLQueryString = column.unique
            ? "AND NOT EXISTS (SELECT 1 FROM \(ident: column.table) AS other WHERE other.\(ident: column.index) = \(bind: new))" : ""
        guard try await sql.raw("""
            UPDATE \(ident: column.table) SET \(ident: column.index) = \(bind: new)
            WHERE id = \(bind: id) AND \(ident: column.index) = \(bind: old) \(free) RETURNING id
            """).first() != nil else { return false }
        if column.identityCodes {
            try await sql.raw("""
                UPDATE identity_codes SET number_index = \(bind: new)
                WHERE number_index = \(bind: old) AND NOT EXISTS (SELECT 1 FROM identity_codes AS other WHERE other.number_index = \(bind: new))
                """).run()
        }
        if let prefix = column.limitPrefix {
            // A window already counted under the new index takes the old one's count (the
            // stricter of the two readings); otherwise the old window is renamed.
            let (from, to) = (prefix + old, prefix + new)
            let merged = try await sql.raw("""
                UPDATE limit_windows SET count = count + (SELECT other.count FROM limit_windows AS other WHERE other.key = \(bind: from))
                WHERE key = \(bind: to) AND EXISTS (SELECT 1 FROM limit_windows AS other WHERE other.key = \(bind: from)) RETURNING key
                """).first() != nil
            try await sql.raw(merged
                ? "DELETE FROM limit_windows WHERE key = \(bind: from)"
                : "UPDATE limit_windows SET key = \(bind: to) WHERE key = \(bind: from)").run()
        }
        return true
    }

    /// When the newest re-index began (its audit event).
    func begunAt() async throws -> Date? {
        try await AuditEventRecord.query(on: db).filter(\.$action == ReindexService.begunAction).sort(\.$seq, .descending).first()?.occurredAt
    }

    /// Removes the one-time codes issued before `cutoff`: they carry the old key's index, and
    /// their hash binds it, so they can neither be re-indexed nor kept once the old key goes.
    func removeCodes(issuedBefore cutoff: Date) async throws -> Int {
        try await db.sql().raw("DELETE FROM one_time_codes WHERE created_at < \(bind: cutoff) RETURNING id").all().count
    }

    /// How many rows of the column hold one of these indexes (for tests and reports).
    func count(_ column: IndexedColumn, holding indexes: [String]) async throws -> Int {
        guard !indexes.isEmpty else { return 0 }
        let row = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM \(ident: column.table) WHERE \(ident: column.index) IN (\(binds: indexes))
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }
}
