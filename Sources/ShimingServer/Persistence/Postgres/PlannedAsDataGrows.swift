import SQLKit

/// A statement kept prepared (`PreparedPostgresDatabase`) under a name of its own for each
/// `growth` step: PostgreSQL plans it afresh whenever the data may have doubled since it last
/// did. For the statements whose plan depends on how large their tables are: the batched
/// reads and the verification query batch's counting statement.
///
/// A kept statement's generic plan is made once per connection, from the tables as they are
/// then, and kept until PostgreSQL's next `ANALYZE` of them. One made while the tables were
/// small went on reading them whole after they grew (seen under load: a fresh deployment's case
/// reads scanned 4,700 cases and 9,500 history rows for each case read, 5–11 ms a batch, right
/// after thousands of drafts were made). Planned at every batch instead (sessions 32–43), the
/// parsing and planning were two fifths of the server's work for the case read, 0.16 ms of
/// planning alone per batch. `growth` is `WriteGate.growth`: it steps each time this process's
/// writes double, so a plan serves while the tables grow at most about twofold through this
/// process; what other instances write is seen at the next `ANALYZE` (autovacuum's), as for
/// every kept statement. On SQLite it runs as the statement it wraps.
struct PlannedAsDataGrows: SQLExpression {
    let statement: any SQLExpression
    let growth: Int

    func serialize(to serializer: inout SQLSerializer) {
        statement.serialize(to: &serializer)
    }
}

extension SQLDatabase {
    /// `statement` to run, kept prepared for the data's `growth` (`PlannedAsDataGrows`); its
    /// rows fetched as with `raw(_:)`.
    func planned(_ statement: some SQLExpression, forGrowth growth: Int) -> SQLStatementFetcher {
        SQLStatementFetcher(query: PlannedAsDataGrows(statement: statement, growth: growth), database: self)
    }
}
