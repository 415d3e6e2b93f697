import Fluent

/// On PostgreSQL, a write of one statement made on what its writer expects (the verification
/// queries' write with its audit events, `Store.countCallsAndRecordQueries`) calls
/// `outcome_as_expected(…)` with whether what it found is what it expected. When it is not, the
/// function fails the statement (SQLSTATE `SH001`), so nothing of it is kept, and the writer
/// writes the long way. SQLite has no such write.
struct CheckExpectedOutcomes: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: [
            """
            CREATE FUNCTION outcome_as_expected(ok boolean) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
              IF ok IS NOT TRUE THEN
                RAISE EXCEPTION 'the outcome expected did not hold; nothing of the statement is kept' USING ERRCODE = 'SH001';
              END IF;
              RETURN true;
            END
            $$
            """,
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: ["DROP FUNCTION outcome_as_expected(boolean)"])
    }
}
