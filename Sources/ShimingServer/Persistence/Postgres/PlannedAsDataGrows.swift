import NIOConcurrencyHelpers
import SQLKit

/// A statement PostgreSQL plans for its values each time it runs, instead of keeping it
/// prepared (`PreparedPostgresDatabase`). For a batch's read: its planning is shared by the
/// batch's requests, and a kept statement's generic plan, made while its tables were small,
/// goes on reading them whole after they grew, until the next `ANALYZE` (seen under load: a
/// fresh deployment's case reads scanned 4,700 cases and 9,500 history rows for each case read,
/// 5–11 ms a batch, right after thousands of drafts were made). Elsewhere, and on SQLite, it
/// runs as the statement it wraps.
struct PlannedEachTime: SQLExpression {
    let statement: any SQLExpression

    func serialize(to serializer: inout SQLSerializer) {
        statement.serialize(to: &serializer)
    }
}

extension SQLDatabase {
    /// The rows of `statement`, planned for its values each time (`PlannedEachTime`).
    func rows(plannedEachTime statement: some SQLExpression) async throws -> [any SQLRow] {
        let rows = NIOLockedValueBox<[any SQLRow]>([])
        try await execute(sql: PlannedEachTime(statement: statement)) { row in rows.withLockedValue { $0.append(row) } }
        return rows.withLockedValue { $0 }
    }
}
