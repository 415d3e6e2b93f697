import Fluent
import Foundation
import SQLKit
import Testing
@testable import ShimingServer

/// Statements kept prepared on PostgreSQL's connections (`PreparedPostgresDatabase`).
@Suite("PostgreSQL statements kept prepared", .enabled(if: TestEngine.postgresURL != nil))
struct PreparedPostgresTests {
    /// The statements prepared on this connection whose text contains `marker`: name and how
    /// many times each was planned (executed).
    private func prepared(_ marker: String, on sql: any SQLDatabase) async throws -> [(name: String, runs: Int)] {
        try await sql.raw("SELECT name, generic_plans + custom_plans AS runs FROM pg_prepared_statements WHERE statement LIKE \(bind: "%" + marker + "%") AND statement NOT LIKE '%pg_prepared_statements%'")
            .all().map { (try $0.decode(column: "name", as: String.self), try $0.decode(column: "runs", as: Int.self)) }
    }

    @Test("a statement run twice on a connection is prepared once, under a name of its own, and then only executed")
    func preparedOnce() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                for value in [41, 99] {
                    let row = try await sql.raw("SELECT \(bind: value)::bigint + 1 AS kept_once").first()
                    #expect(try row?.decode(column: "kept_once", as: Int.self) == value + 1)
                }
                let found = try await prepared("kept_once", on: sql)
                #expect(found.count == 1, "\(found)")
                #expect(found.first?.name.hasPrefix("shiming_") == true)
                #expect(found.first?.runs == 2)
            }
        }
    }

    @Test("one text with values of other types (or nil) is another statement: each value is read as its own type")
    func typesAreTheStatement() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                let text = try await sql.raw("SELECT \(bind: "seven")::text AS kept_typed").first()
                #expect(try text?.decode(column: "kept_typed", as: String.self) == "seven")
                let number = try await sql.raw("SELECT \(bind: 7)::text AS kept_typed").first()
                #expect(try number?.decode(column: "kept_typed", as: String.self) == "7")
                let none = try await sql.raw("SELECT \(bind: String?.none)::text AS kept_typed").first()
                #expect(try none?.decodeNil(column: "kept_typed") == true)
                #expect(try await prepared("kept_typed", on: sql).count == 3)
            }
        }
    }

    @Test("arrays are bound as arrays of their own element type, empty ones too (a cast alone takes an empty array for any element type)")
    func arraysKeepTheirType() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                let (id, at) = (UUID(), Date(timeIntervalSince1970: 1_796_244_592.541))
                // Each type's empty array and one of two values, and the type PostgreSQL gets.
                let arrays: [(any Encodable & Sendable, any Encodable & Sendable, String)] = [
                    ([UUID](), [id, id], "uuid[]"), ([String](), ["陈桂芳", ""], "text[]"), ([Date](), [at, at], "timestamp with time zone[]"),
                    ([Int](), [7, 8], "bigint[]"), ([Int64](), [Int64(7), 8], "bigint[]"), (NullableTexts([]), NullableTexts([nil, "a"]), "text[]"),
                ]
                for (empty, full, type) in arrays {
                    for (value, length) in [(empty, 0), (full, 2)] {
                        let row = try await sql.raw("SELECT pg_typeof(\(bind: value))::text AS kept_array, cardinality(\(bind: value)) AS length").first()
                        #expect(try row?.decode(column: "kept_array", as: String.self) == type, "\(value)")
                        #expect(try row?.decode(column: "length", as: Int.self) == length, "\(value)")
                    }
                }
                let row = try await sql.raw("SELECT (\(bind: [id]))[1] AS u, (\(bind: [at]))[1] AS d, (\(bind: ["陈桂芳"]))[1] AS t").first()
                #expect(try row?.decode(column: "u", as: UUID.self) == id && row?.decode(column: "t", as: String.self) == "陈桂芳")
                let date = try #require(try row?.decode(column: "d", as: Date.self))
                #expect(abs(date.timeIntervalSince(at)) < 0.000_001)
            }
        }
    }

    /// PostgresKit's reading of `row`'s column and `KeptRow`'s agree, errors included.
    private func sameAsPostgresKit<T: Decodable & Equatable>(_ type: T.Type, _ row: KeptRow, _ column: String,
                                                            sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameOutcome(Result { try row.row.sql().decode(column: column, as: T.self) }, Result { try row.decode(column: column, as: T.self) },
                          "\(T.self) from \(column)", sourceLocation: sourceLocation)
    }

    @Test("a kept statement's rows read every column as PostgresKit reads it, for every type read directly and others, nulls and errors included")
    func rowsReadAsPostgresKit() async throws {
        try await withShiming { shiming in
            let (id, at) = (UUID(), Date(timeIntervalSince1970: 1_796_244_592.541_14))
            // (Read outside the connection's closure, which runs in a task of its own.)
            let found = try await shiming.db.withConnection { db in
                try await db.sql().raw("""
                    SELECT \(bind: "陈桂芳")::text AS t, \(bind: id)::uuid AS u, \(bind: at)::timestamptz AS d, \(bind: Int.max)::bigint AS i8,
                      \(bind: 7)::int4 AS i4, \(bind: true)::bool AS b, NULL::text AS tn, NULL::uuid AS un, NULL::timestamptz AS dn,
                      NULL::bigint AS i8n, NULL::bool AS bn, '{"a":1}'::jsonb AS j, 1.5::float8 AS f, \(bind: id.uuidString)::text AS ut
                    """).first()
            }
            let row = try #require(found as? KeptRow)
            #expect(try row.decode(column: "u", as: UUID.self) == id && row.decode(column: "t", as: String.self) == "陈桂芳")
            for column in row.allColumns + ["missing"] {
                sameAsPostgresKit(String.self, row, column)
                sameAsPostgresKit(String?.self, row, column)
                sameAsPostgresKit(UUID.self, row, column)
                sameAsPostgresKit(UUID?.self, row, column)
                sameAsPostgresKit(Date.self, row, column)
                sameAsPostgresKit(Date?.self, row, column)
                sameAsPostgresKit(Int.self, row, column)
                sameAsPostgresKit(Int?.self, row, column)
                sameAsPostgresKit(Int64.self, row, column)
                sameAsPostgresKit(Bool.self, row, column)
                sameAsPostgresKit(Bool?.self, row, column)
                sameAsPostgresKit(Double.self, row, column)
                #expect(try row.decodeNil(column: column) == row.row.sql().decodeNil(column: column))
            }
        }
    }

    @Test("a statement planned as the data grows is kept prepared, under a new name at each growth step, with its array values, and its rows read as a kept statement's")
    func plannedAsDataGrowsIsKeptPerStep() async throws {
        try await withShiming { shiming in
            let ids = [UUID(), UUID()]
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                for growth in [3, 3, 4, 3] {
                    let rows = try await sql.planned("""
                        SELECT asked.id AS u, asked.n AS n, \(bind: "陈桂芳")::text AS planned_growth FROM unnest(\(bind: ids)) WITH ORDINALITY AS asked (id, n)
                        """ as SQLQueryString, forGrowth: growth).all()
                    #expect(rows.count == 2)
                    for (index, found) in rows.enumerated() {
                        let row = try #require(found as? KeptRow)
                        #expect(try row.decode(column: "u", as: UUID.self) == ids[index] && row.decode(column: "n", as: Int.self) == index + 1)
                        for column in row.allColumns + ["missing"] {
                            sameAsPostgresKit(String.self, row, column)
                            sameAsPostgresKit(UUID.self, row, column)
                            sameAsPostgresKit(Int.self, row, column)
                        }
                    }
                }
                // One statement for step 3 (run three times), one for step 4 (once): planned afresh
                // at the new step, the one before still kept.
                let found = try await prepared("planned_growth", on: sql).sorted { $0.runs > $1.runs }
                #expect(found.map(\.runs) == [3, 1], "\(found)")
                #expect(Set(found.map(\.name)).count == 2 && found.allSatisfy { $0.name.hasPrefix("shiming_") })
            }
        }
    }

    @Test("statements with many values (bulk writes) run unnamed: each length would be a statement of its own")
    func bulkRunsUnnamed() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                let values = Array(1...(PreparedStatementNames.largestBinds + 1))
                let list = SQLList(values.map { SQLBind($0) })
                let row = try await sql.raw("SELECT \(list) AS kept_bulk").first()
                #expect(row != nil)
                #expect(try await prepared("kept_bulk", on: sql).isEmpty)
            }
        }
    }

    @Test("a statement whose preparation failed inside a failed transaction runs once the transaction has ended, on the same connection")
    func failedPreparationIsNotKept() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                try await sql.raw("BEGIN").run()
                await #expect(throws: (any Error).self) { try await sql.raw("SELECT 1 / \(bind: 0) AS fails").run() }
                // Prepared in a transaction that has failed: the server refuses it (25P02).
                await #expect(throws: (any Error).self) { try await sql.raw("SELECT \(bind: "again")::text AS kept_after").first() }
                try await sql.raw("ROLLBACK").run()
                let row = try await sql.raw("SELECT \(bind: "again")::text AS kept_after").first()
                #expect(try row?.decode(column: "kept_after", as: String.self) == "again")
            }
        }
    }

    @Test("a statement that fails running, by bad data or an outcome not as expected (Shiming's own SQLSTATE, SH001), stays prepared under its name: it is not prepared again at its next run")
    func failedRunIsKept() async throws {
        try await withShiming { shiming in
            try await shiming.db.withConnection { db in
                let sql = try db.sql()
                let checks: [(String, @Sendable (Int) -> SQLQueryString)] = [
                    ("kept_after_data", { "1 / \(bind: $0)::bigint" }),
                    ("kept_after_outcome", { "CASE WHEN outcome_as_expected(\(bind: $0) <> 0) THEN 1 END" }),
                ]
                for (marker, check) in checks {
                    let statement = { (value: Int) -> SQLQueryString in
                        "SELECT \(bind: value)::bigint AS \(unsafeRaw: marker), \(check(value)) AS checked"
                    }
                    #expect(try await sql.raw(statement(1)).first()?.decode(column: marker, as: Int.self) == 1)
                    await #expect(throws: (any Error).self) { try await sql.raw(statement(0)).run() }
                    #expect(try await sql.raw(statement(2)).first()?.decode(column: marker, as: Int.self) == 2)
                    let found = try await prepared(marker, on: sql)
                    #expect(found.count == 1, "\(found)")
                    #expect(found.first.map { $0.runs >= 2 } == true, "\(marker): \(found)")  // (the failed run may not count)
                }
            }
        }
    }
}
