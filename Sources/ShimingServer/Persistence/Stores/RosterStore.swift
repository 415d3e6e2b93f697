import Fluent
import FluentSQLiteDriver
import Foundation
import NIOCore
import NIOPosix
import ShimingCore
import SQLKit

extension Store {
    /// The imported school rolls (P4).
    var roster: RosterStore { RosterStore(db: database, gate: gate, cipher: cipher) }
}

/// One roll line ready to store: the school label its segment takes, its number's short blind
/// index and its sealed fields.
struct RosterRow: Sendable {
    var school: String
    var numberIndex: [UInt8]
    var sealed: [UInt8]
}

/// A (school, grade, class) of a roll, labels as the roll spells them.
struct RosterClass: Sendable {
    var schoolKey: String
    var school: String
    var grade: String
    var `class`: String
}

/// Rows of `roster_imports`, `roster_segments`, `roster_lines` and `roster_classes`. An import
/// writes its lines in batches while it runs, each in the segment of its import and school
/// label; only a complete import's lines answer look-ups, and completing it replaces the
/// schools' earlier lines.
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

    /// Writes one batch of an import's lines (up to 8,000: three values each, within both
    /// engines' limit on bound values), first making the segments of school labels not
    /// in `segments` (label → segment id); answers `segments` with the new ones. On SQLite:
    /// values bound directly, on one connection with a small page cache (4 MiB: a larger one bought no time),
    /// the WAL checkpointed in big steps and commits not flushed one by one (WAL with
    /// `synchronous=NORMAL`: an interrupted import is simply run again); the connection's
    /// settings are restored afterwards, so other writes stay fully durable. On PostgreSQL: one
    /// transaction with a multi-row INSERT.
    func insert(_ rows: [RosterRow], importID: UUID, segments known: [String: Int64], schoolKeys: [String: String]) async throws -> [String: Int64] {
        // In the number index's order: each insert lands near the one before it in the index.
        let rows = rows.sorted { $0.numberIndex.lexicographicallyPrecedes($1.numberIndex) }
        var fresh: [String] = []
        for row in rows where known[row.school] == nil && !fresh.contains(row.school) { fresh.append(row.school) }
        let newSegments = fresh.map { (school: $0, key: schoolKeys[$0] ?? NameMatching.labelKey($0)) }
        if let sqlite = db as? DirectSQLiteDatabase {
            return try await gate.exclusive {
                try await Self.insertSQLite(rows, importID: importID, segments: known, new: newSegments, into: sqlite)
            }
        }
        return try await gate.transaction(on: db) { tx in
            let sql = try tx.sql()
            var segments = known
            for segment in newSegments {
                segments[segment.school] = try await sql.raw("""
                    INSERT INTO roster_segments (import_id, school_key, school) VALUES (\(bind: importID), \(bind: segment.key), \(bind: segment.school)) RETURNING id
                    """).first().map { try $0.decode(column: "id", as: Int64.self) }
            }
            var insert = sql.insert(into: "roster_lines").columns("segment", "number_index", "data")
            for row in rows {
                insert = insert.values(SQLBind(segments[row.school] ?? 0), SQLBind(Data(row.numberIndex)), SQLBind(Data(row.sealed)))
            }
            try await insert.run()
            return segments
        }
    }

    /// The connection's settings as every other write expects them (SQLite's defaults but for
    /// `synchronous`, which Shiming keeps at FULL).
    private static let restored = ["PRAGMA synchronous = FULL", "PRAGMA wal_autocheckpoint = 1000", "PRAGMA cache_size = -2000"]

    /// The lines' insert runs on a thread of the shared pool, not on the caller's: the import
    /// parses, checks and seals the next lines on both cores meanwhile.
    private static func insertSQLite(_ rows: [RosterRow], importID: UUID, segments known: [String: Int64], new: [(school: String, key: String)],
                                     into sqlite: DirectSQLiteDatabase) async throws -> [String: Int64] {
        let importData = try SQLiteValues.data(importID)
        return try await sqlite.onOneConnection { connection in
            try await NIOThreadPool.singleton.runIfActive {
                try insertLines(rows, importData: importData, segments: known, new: new, on: connection)
            }
        }
    }

    private static func insertLines(_ rows: [RosterRow], importData: SQLiteData, segments known: [String: Int64], new: [(school: String, key: String)],
                                    on connection: DirectSQLiteDatabase) throws -> [String: Int64] {
        _ = try connection.query("PRAGMA synchronous = NORMAL")
        _ = try connection.query("PRAGMA cache_size = -4096")
        _ = try connection.query("PRAGMA wal_autocheckpoint = 25000")
        var segments = known
        do {
            // New segments and the lines in one transaction; without new segments one
            // statement committed by itself, so SQLite needs no statement journal.
            if !new.isEmpty { _ = try connection.query("BEGIN IMMEDIATE") }
            for segment in new {
                let row = try connection.query("INSERT INTO roster_segments (import_id, school_key, school) VALUES (?, ?, ?) RETURNING id",
                                               [importData, .text(segment.key), .text(segment.school)]).first
                segments[segment.school] = try row?.decode(column: "id", as: Int64.self)
            }
            var binds: [SQLiteData] = []
            binds.reserveCapacity(rows.count * 3)
            let allocator = ByteBufferAllocator()
            for row in rows {
                binds += [.integer(Int(segments[row.school] ?? 0)), .blob(allocator.buffer(bytes: row.numberIndex)), .blob(allocator.buffer(bytes: row.sealed))]
            }
            let placeholders = Array(repeating: "(?, ?, ?)", count: rows.count).joined(separator: ", ")
            _ = try connection.query("INSERT INTO roster_lines (segment, number_index, data) VALUES \(placeholders)", binds)
            if !new.isEmpty { _ = try connection.query("COMMIT") }
        } catch {
            if !new.isEmpty { _ = try? connection.query("ROLLBACK") }
            for setting in Self.restored { _ = try? connection.query(setting) }
            throw error
        }
        for setting in Self.restored { _ = try connection.query(setting) }
        return segments
    }

    /// Marks an import complete with its counts and makes it the roll of its schools: their
    /// earlier segments, lines and classes go, this import's classes come (in the caller's
    /// transaction).
    func complete(_ id: UUID, report: RosterReport, schools: [String], classes: [RosterClass], at now: Date) async throws {
        guard let record = try await RosterImportRecord.find(id, on: db) else { return }
        record.state = "complete"
        record.rows = report.rows
        record.imported = report.imported
        record.rejected = report.rejectedCount
        record.finishedAt = now
        try await record.save(on: db)
        let sql = try db.sql()
        for start in stride(from: 0, to: schools.count, by: 500) {
            let part = Array(schools[start..<min(start + 500, schools.count)])
            let earlier: SQLQueryString = "SELECT id FROM roster_segments WHERE school_key IN (\(binds: part)) AND import_id <> \(bind: id)"
            try await sql.raw("DELETE FROM roster_lines WHERE segment IN (\(earlier))").run()
            try await sql.raw("DELETE FROM roster_segments WHERE id IN (\(earlier))").run()
            try await RosterClassRecord.query(on: db).filter(\.$schoolKey ~~ part).delete()
        }
        // A roll of a city holds tens of thousands of classes: a few hundred to a statement.
        for start in stride(from: 0, to: classes.count, by: 200) {
            var insert = sql.insert(into: RosterClassRecord.schema).columns("id", "school_key", "school", "grade", "class")
            for labels in classes[start..<min(start + 200, classes.count)] {
                insert = insert.values(SQLBind(UUID()), SQLBind(labels.schoolKey), SQLBind(labels.school), SQLBind(labels.grade), SQLBind(labels.class))
            }
            try await insert.run()
        }
    }

    /// Marks an import failed and removes the lines and segments it had written.
    func abandon(_ id: UUID) async throws {
        try await gate.transaction(on: db) { tx in
            let sql = try tx.sql()
            try await sql.raw("DELETE FROM roster_lines WHERE segment IN (SELECT id FROM roster_segments WHERE import_id = \(bind: id))").run()
            try await sql.raw("DELETE FROM roster_segments WHERE import_id = \(bind: id)").run()
            try await RosterImportRecord.query(on: tx).filter(\.$id == id).set(\.$state, to: "failed").update()
        }
    }

    /// A number's index as roll lines store it: the first 16 bytes of the blind index.
    static func shortIndex(_ hex: String) -> [UInt8] {
        Array((Hex.decode(String(hex.prefix(32))) ?? []).prefix(16))
    }

    /// The lines of complete imports with this number index, opened.
    func lines(numberIndex: IndexProbe) async throws -> [RosterLine] {
        // Every submission checked against a roll asks this: one plain query, lines of complete imports only.
        let rows = try await db.sql().raw("""
            SELECT l.number_index, l.data, s.import_id, s.school FROM roster_lines l
            JOIN roster_segments s ON s.id = l.segment JOIN roster_imports i ON i.id = s.import_id
            WHERE l.number_index IN (\(binds: numberIndex.accepted.map { Data(Self.shortIndex($0)) })) AND i.state = 'complete'
            """).all()
        return try rows.map { row in
            let school = try row.decode(column: "school", as: String.self)
            let index = [UInt8](try row.decode(column: "number_index", as: Data.self))
            let context = RosterLine.context(importID: try row.decode(column: "import_id", as: UUID.self), school: school, index: index)
            guard let line = RosterLine(packed: try cipher.openBinary([UInt8](try row.decode(column: "data", as: Data.self)), authenticating: context),
                                        school: school) else { throw FieldCipherError.malformed }
            return line
        }
    }

    /// Every class of the rolls, in school, grade, class order.
    func classes() async throws -> [RosterClass] {
        try await RosterClassRecord.query(on: db).sort(\.$schoolKey).sort(\.$grade).sort(\.$class).all()
            .map { RosterClass(schoolKey: $0.schoolKey, school: $0.school, grade: $0.grade, class: $0.class) }
    }
}
