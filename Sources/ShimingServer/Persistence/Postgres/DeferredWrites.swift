import FluentKit
import NIOConcurrencyHelpers
import SQLKit

/// Writes of a PostgreSQL transaction whose results nobody reads, sent with its next statement.
///
/// Each statement is a round trip to the server, and a write transaction holds the write gate
/// for all of its round trips: a submission made fourteen. A history row, a review task's
/// closing, an outbox message are written and never read back in the transaction that writes
/// them, so they need not be a round trip of their own. `SQLDatabase.runDeferred(_:)` queues
/// such a write; the transaction's next statement carries the queue in front of it as
/// data-modifying `WITH` parts (`WITH d0 AS (INSERT …), d1 AS (UPDATE …) SELECT …`), one round
/// trip for all of them.
///
/// A statement's `WITH` parts and the statement itself all see the database as it was when
/// the statement began, so a write is carried only where that changes nothing:
/// - a statement that names a table a queued write writes does not carry the queue: the queue
///   is sent alone first, then the statement (it sees the writes, as it would have);
/// - a write that names a table another queued write writes is queued only after the queue was
///   sent, unless both only insert into it (rows inserted side by side);
/// - a queued write sees what the statements before it wrote (every statement after it
///   carries or sends it), and, like any statement, not what later ones write.
///
/// A queued write that fails fails the statement that carries it, inside the same body (the
/// gate's group sends what a body queued before its next savepoint, `flushDeferredWrites`), so
/// the body fails as it would have. A queue is dropped with the rollback that undoes it. Outside
/// PostgreSQL transactions (SQLite, the pools), `runDeferred` runs the write at once.
///
/// Between two bodies of a group whose callers said they touch different rows (`footprint`,
/// `GroupCommit`), the first one's writes stay queued, marked as left by an earlier body
/// (`handOver()`), and the second one's first statement carries them even where it reads their
/// tables: it reads none of their rows. It may not write their tables (two changes of one row
/// in one statement, one is lost). When the statement fails, the group runs both again, each
/// with its own writes sent alone.
final class DeferredWrites: Sendable {
    struct Write: Sendable {
        let query: any SQLExpression
        /// The table it writes.
        let table: String
        let inserts: Bool
        /// Queued by an earlier body of the group, whose rows the next body does not read
        /// (`handOver()`).
        var handedOver = false
    }

    private let queue = NIOLockedValueBox<[Write]>([])

    /// At most this many writes wait for a statement to carry them.
    static let largest = 8

    /// The writes queued so far, taken off the queue.
    func take() -> [Write] { queue.withLockedValue { queue in defer { queue = [] }; return queue } }

    /// Drops the queue (its savepoint or transaction is being rolled back).
    func discard() { queue.withLockedValue { $0 = [] } }

    /// Marks the writes queued so far as an earlier body's, for the next body's first statement
    /// to carry (`mayCarry`); answers whether there were any.
    func handOver() -> Bool {
        queue.withLockedValue { queue in
            for index in queue.indices { queue[index].handedOver = true }
            return !queue.isEmpty
        }
    }

    /// Queues `write` (text `sql`) and answers the writes the caller must send alone first:
    /// none when it joins the queue, the whole queue when it clashes with it. Not `accepted`
    /// when `sql` is no write that can wait: the caller sends the queue, then runs it at once.
    func queue(_ write: any SQLExpression, sql: String) -> (accepted: Bool, sendFirst: [Write]) {
        guard let (table, inserts) = Self.target(of: sql) else { return (false, take()) }
        let new = Write(query: write, table: table, inserts: inserts)
        return queue.withLockedValue { queue in
            let clashes = queue.count >= Self.largest || queue.contains { other in
                if other.table == table { return !(inserts && other.inserts) || Self.occurrences(of: table, in: sql) > 1 }
                return Self.occurrences(of: other.table, in: sql) > 0
            }
            let first = clashes ? queue : []
            if clashes { queue = [] }
            queue.append(new)
            return (true, first)
        }
    }

    /// Whether `sql` may carry `writes` in front of it: it begins as a plain statement, or with
    /// a `WITH` clause the carried parts join (`SQLCarriedWrites`); it names none of the tables
    /// its own body's writes write, and writes none of those an earlier body handed over.
    static func mayCarry(_ writes: [Write], sql: String) -> Bool {
        let words = firstWords(of: sql, count: 2)
        guard let head = words.first, ["select", "insert", "update", "delete", "with"].contains(head) else { return false }
        if head == "with", words.count < 2 || words[1] == "recursive" { return false }
        let written = writes.contains(where: \.handedOver) ? writtenTables(of: sql) : []
        return !writes.contains { $0.handedOver ? written == nil || written?.contains($0.table) == true : occurrences(of: $0.table, in: sql) > 0 }
    }

    /// The tables `sql` may write (in lower case): each named right after `UPDATE`, `INTO` or
    /// `DELETE FROM`; nil (any) when it merges. A byte scan: only the names written are copied.
    static func writtenTables(of sql: String) -> Set<String>? {
        var sql = sql
        return sql.withUTF8 { text in
            func equals(_ range: Range<Int>, _ word: StaticString) -> Bool {
                guard range.count == word.utf8CodeUnitCount else { return false }
                let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
                return zip(range, bytes).allSatisfy { lower(text[$0]) == $1 }
            }
            var written: Set<String> = []
            var previous: (Range<Int>, Range<Int>) = (0..<0, 0..<0)
            var index = 0
            while index < text.count {
                guard isNamePart(text[index]) else { index += 1; continue }
                let start = index
                while index < text.count, isNamePart(text[index]) { index += 1 }
                let word = start..<index
                if equals(word, "merge") { return nil }
                if equals(previous.1, "update") || equals(previous.1, "into") || (equals(previous.0, "delete") && equals(previous.1, "from")) {
                    written.insert(String(decoding: text[word].map(lower), as: UTF8.self))
                }
                previous = (previous.1, word)
            }
            return written
        }
    }

    /// The table an `INSERT INTO t …` or `UPDATE t …` writes (nil for anything else, including
    /// an insert that may update on a conflict).
    static func target(of sql: String) -> (table: String, inserts: Bool)? {
        let words = firstWords(of: sql, count: 3)
        guard occurrences(of: "conflict", in: sql) == 0 else { return nil }
        if words.count >= 3, words[0] == "insert", words[1] == "into" { return (words[2], true) }
        if words.count >= 2, words[0] == "update" { return (words[1], false) }
        return nil
    }

    // These run for every statement of a transaction with writes waiting: byte scans, no copies
    // of the statement's text.

    /// The first `count` words of `sql` in lower case, a word ending at a space, `(` or `"`
    /// (a quoted name is read without its quotes).
    private static func firstWords(of sql: String, count: Int) -> [String] {
        var sql = sql
        return sql.withUTF8 { text in
            var words: [String] = []
            var index = 0
            while words.count < count && index < text.count {
                while index < text.count, isSpace(text[index]) || text[index] == UInt8(ascii: "\"") { index += 1 }
                let start = index
                while index < text.count, !isSpace(text[index]), text[index] != UInt8(ascii: "("), text[index] != UInt8(ascii: "\"") { index += 1 }
                guard index > start else { break }
                words.append(String(decoding: text[start..<index].map(lower), as: UTF8.self))
            }
            return words
        }
    }

    /// How often `table` (in lower case) appears in `sql` as a word of its own, in any case.
    static func occurrences(of table: String, in sql: String) -> Int {
        var sql = sql, table = table
        return sql.withUTF8 { text in
            table.withUTF8 { name in
                guard let first = name.first, name.count <= text.count else { return 0 }
                var count = 0
                var index = 0
                while index <= text.count - name.count {
                    guard lower(text[index]) == first else { index += 1; continue }
                    var matched = 1
                    while matched < name.count, lower(text[index + matched]) == name[matched] { matched += 1 }
                    let end = index + name.count
                    if matched == name.count, index == 0 || !isNamePart(text[index - 1]), end == text.count || !isNamePart(text[end]) {
                        count += 1
                        index = end
                    } else {
                        index += 1
                    }
                }
                return count
            }
        }
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    private static func isNamePart(_ byte: UInt8) -> Bool {
        let byte = lower(byte)
        return (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || byte == UInt8(ascii: "_")
    }
}

/// Queued writes sent alone, as the `WITH` parts of `SELECT 1`.
struct SQLCarriedWrites: SQLExpression {
    let writes: [DeferredWrites.Write]

    func serialize(to serializer: inout SQLSerializer) {
        Self.parts(writes, to: &serializer)
        serializer.write(" SELECT 1")
    }

    /// `WITH d0 AS (…), d1 AS (…)`.
    private static func parts(_ writes: [DeferredWrites.Write], to serializer: inout SQLSerializer) {
        serializer.write("WITH ")
        for (number, write) in writes.enumerated() {
            if number > 0 { serializer.write(", ") }
            serializer.write("d\(number) AS (")
            write.query.serialize(to: &serializer)
            serializer.write(")")
        }
    }

    /// Queued writes as the `WITH` parts of `statement`, serialised already (`DeferredWrites
    /// .mayCarry` read it). Its values stay first (`$1`…), the writes' follow, so that its text
    /// is used as it is. A statement with a `WITH` clause of its own gets the writes as its
    /// clause's first parts.
    static func carried(_ writes: [DeferredWrites.Write], before statement: (sql: String, binds: [any Encodable & Sendable]),
                        on database: any SQLDatabase) -> SQLSerialized {
        var serializer = SQLSerializer(database: database)
        serializer.binds = statement.binds
        parts(writes, to: &serializer)
        // Its own `WITH` (the first word, as `mayCarry` read it) becomes a comma.
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        let own = statement.sql.drop(while: isSpace)
        if own.prefix(4).lowercased() == "with", let after = own.dropFirst(4).first, isSpace(after) {
            serializer.sql += "," + own.dropFirst(4)
        } else {
            serializer.sql += " " + statement.sql
        }
        return SQLSerialized(sql: serializer.sql, binds: serializer.binds)
    }
}

/// A statement serialised already: its text, its placeholders numbered from `$1`, and its values.
struct SQLSerialized: SQLExpression {
    let sql: String
    let binds: [any Encodable & Sendable]

    func serialize(to serializer: inout SQLSerializer) {
        // Only ever serialised alone (the driver's unnamed path), where its numbering holds.
        serializer.write(sql)
        serializer.binds.append(contentsOf: binds)
    }
}

extension SQLDatabase {
    /// Runs `query`, a write whose result nobody reads (no rows, no count): in a PostgreSQL
    /// transaction it goes with the transaction's next statement (`DeferredWrites`), elsewhere
    /// at once.
    func runDeferred(_ query: SQLQueryString) async throws {
        guard let postgres = self as? PreparedPostgresDatabase, postgres.deferred != nil else {
            return try await raw(query).run()
        }
        try await postgres.queue(query)
    }
}

extension Database {
    /// Sends the writes this transaction queued (`runDeferred`) now: the write gate's group does
    /// at the end of each body, so that a failing write fails its own body.
    func flushDeferredWrites() async throws {
        try await (self as? PreparedPostgresDatabase)?.flushDeferred()
    }

    /// Drops the writes this transaction queued: the savepoint they came after is being rolled back.
    func discardDeferredWrites() {
        (self as? PreparedPostgresDatabase)?.deferred?.discard()
    }

    /// Leaves the writes this transaction queued for the next body's first statement to carry
    /// (`DeferredWrites.handOver`); answers whether any were queued.
    func handOverDeferredWrites() -> Bool {
        (self as? PreparedPostgresDatabase)?.deferred?.handOver() ?? false
    }
}
