import Fluent
import FluentSQLiteDriver
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// The imported school rolls (P4).
    var roster: RosterStore { RosterStore(db: database, gate: gate, cipher: cipher) }
}

/// One roll line ready to store: sealed, with its school key and number index.
struct RosterRow: Sendable {
    var schoolKey: String
    var numberIndex: String
    var sealed: String
    var id: UUID
}

/// A (school, grade, class) of a roll, labels as the roll spells them.
struct RosterClass: Sendable {
    var schoolKey: String
    var school: String
    var grade: String
    var `class`: String
}

/// Rows of `roster_imports`, `roster_entries` and `roster_classes`. An import writes its lines
/// in batches while it runs; only a complete import's lines answer look-ups, and completing it
/// replaces the schools' earlier lines.
struct RosterStore: Sendable {
    let db: any Database
    let gate: WriteGate
    let cipher: FieldCipher

    /// Records an import as running.
    func begin(_ id: UUID, actor: AuditActor, at now: Date) async throws {
        try await gate.transaction(on: db) { tx in
            let record = RosterImportRecord()
            record.id = id
            record.state = "running"
            record.rows = 0
            record.imported = 0
            record.rejected = 0
            record.actor = actor.stored
            record.startedAt = now
            try await record.create(on: tx)
        }
    }

    /// Writes one batch of lines. On SQLite: values bound directly, on one connection with a
    /// large page cache for the random inserts into the number index, the WAL checkpointed in
    /// big steps and commits not flushed one by one (WAL with `synchronous=NORMAL`: an
    /// interrupted import is simply run again); the connection's settings are restored
    /// afterwards, so other writes stay fully durable. On PostgreSQL: one multi-row INSERT.
    func insert(_ rows: [RosterRow], importID: UUID) async throws {
        if let sqlite = db as? any SQLiteDatabase {
            try await gate.exclusive { try await Self.insertSQLite(rows, importID: importID, into: sqlite) }
        } else {
            try await gate.transaction(on: db) { tx in
                let sql = try tx.sql()
                var insert = sql.insert(into: RosterEntryRecord.schema).columns("id", "import_id", "school_key", "number_index", "data_sealed")
                for row in rows {
                    insert = insert.values(SQLBind(row.id), SQLBind(importID), SQLBind(row.schoolKey), SQLBind(row.numberIndex), SQLBind(row.sealed))
                }
                try await insert.run()
            }
        }
    }

    private static func insertSQLite(_ rows: [RosterRow], importID: UUID, into sqlite: any SQLiteDatabase) async throws {
        let placeholders = Array(repeating: "(?, ?, ?, ?, ?)", count: rows.count).joined(separator: ", ")
        let encoder = SQLiteDataEncoder()
        let importData = try encoder.encode(importID)
        var binds: [SQLiteData] = []
        binds.reserveCapacity(rows.count * 5)
        for row in rows {
            binds += [try encoder.encode(row.id), importData, .text(row.schoolKey), .text(row.numberIndex), .text(row.sealed)]
        }
        let statement = "INSERT INTO roster_entries (id, import_id, school_key, number_index, data_sealed) VALUES \(placeholders)"
        try await sqlite.withConnection { [binds] connection in
            _ = try await connection.query("PRAGMA synchronous = NORMAL")
            _ = try await connection.query("PRAGMA cache_size = -131072")
            _ = try await connection.query("PRAGMA wal_autocheckpoint = 25000")
            do {
                // One statement, committed by itself: no surrounding transaction, so SQLite
                // needs no statement journal.
                _ = try await connection.query(statement, binds)
            } catch {
                _ = try? await connection.query("PRAGMA synchronous = FULL")
                _ = try? await connection.query("PRAGMA wal_autocheckpoint = 1000")
                throw error
            }
            _ = try await connection.query("PRAGMA synchronous = FULL")
            _ = try await connection.query("PRAGMA wal_autocheckpoint = 1000")
        }
    }

    /// Marks an import complete with its counts and makes it the roll of its schools: their
    /// earlier lines and classes go, this import's classes come (in the caller's transaction).
    func complete(_ id: UUID, report: RosterReport, schools: [String], classes: [RosterClass], at now: Date) async throws {
        guard let record = try await RosterImportRecord.find(id, on: db) else { return }
        record.state = "complete"
        record.rows = report.rows
        record.imported = report.imported
        record.rejected = report.rejectedCount
        record.finishedAt = now
        try await record.save(on: db)
        for start in stride(from: 0, to: schools.count, by: 500) {
            let part = Array(schools[start..<min(start + 500, schools.count)])
            try await RosterEntryRecord.query(on: db).filter(\.$schoolKey ~~ part).filter(\.$importID != id).delete()
            try await RosterClassRecord.query(on: db).filter(\.$schoolKey ~~ part).delete()
        }
        // A roll of a city holds tens of thousands of classes: a few hundred to a statement.
        for start in stride(from: 0, to: classes.count, by: 200) {
            var insert = try db.sql().insert(into: RosterClassRecord.schema).columns("id", "school_key", "school", "grade", "class")
            for labels in classes[start..<min(start + 200, classes.count)] {
                insert = insert.values(SQLBind(UUID()), SQLBind(labels.schoolKey), SQLBind(labels.school), SQLBind(labels.grade), SQLBind(labels.class))
            }
            try await insert.run()
        }
    }

    /// Marks an import failed and removes the lines it had written.
    func abandon(_ id: UUID) async throws {
        try await gate.transaction(on: db) { tx in
            try await RosterEntryRecord.query(on: tx).filter(\.$importID == id).delete()
            try await RosterImportRecord.query(on: tx).filter(\.$id == id).set(\.$state, to: "failed").update()
        }
    }

    /// The lines of complete imports with this number index, opened.
    func lines(numberIndex: IndexProbe) async throws -> [RosterLine] {
        // Every submission checked against a roll asks this: one plain query, lines of complete imports only.
        let rows = try await db.sql().raw("""
            SELECT e.id, e.data_sealed FROM roster_entries e JOIN roster_imports i ON i.id = e.import_id
            WHERE e.number_index IN (\(binds: numberIndex.accepted)) AND i.state = 'complete'
            """).all()
        let decoder = JSONDecoder()
        return try rows.map { row in
            let json = try cipher.open(try row.value("data_sealed"), context: RosterLine.context(try row.value("id")))
            return try decoder.decode(RosterLine.self, from: Data(json.utf8))
        }
    }

    /// Every class of the rolls, in school, grade, class order.
    func classes() async throws -> [RosterClass] {
        try await RosterClassRecord.query(on: db).sort(\.$schoolKey).sort(\.$grade).sort(\.$class).all()
            .map { RosterClass(schoolKey: $0.schoolKey, school: $0.school, grade: $0.grade, class: $0.class) }
    }
}
