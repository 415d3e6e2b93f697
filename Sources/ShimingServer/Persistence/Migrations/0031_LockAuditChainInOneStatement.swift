import Fluent

/// On PostgreSQL, every write group (and every write outside one) first takes the audit chain's
/// lock, then reads the chain's last event: two round trips on the writer's connection, each a
/// wait for the server under load. `audit_chain_end()` does both in one (`AuditLog.lockChain`).
/// It is `VOLATILE`, so its query takes a snapshot of its own after the lock is held, and sees
/// every event committed before. SQLite has one writer and no such lock.
struct LockAuditChainInOneStatement: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: [
            """
            CREATE FUNCTION audit_chain_end() RETURNS TABLE (seq bigint, hash text) LANGUAGE plpgsql VOLATILE AS $$
            BEGIN
              PERFORM pg_advisory_xact_lock(\(AuditLog.advisoryLockKey));
              RETURN QUERY SELECT audit_events.seq, audit_events.hash::text FROM audit_events ORDER BY audit_events.seq DESC LIMIT 1;
            END
            $$
            """,
        ])
    }

    func revert(on database: any Database) async throws {
        try await SQLDialectSwitch.run(on: database, sqlite: [], postgres: ["DROP FUNCTION audit_chain_end()"])
    }
}
