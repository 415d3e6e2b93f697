import Fluent
import Foundation
import SQLKit

extension Store {
    /// Limits on how often something may happen (a count per window, a pause between two).
    var limits: LimitStore { LimitStore(db: database) }
}

/// One allowance: at most `cap` times per `window`, and not again within `cooldown` of the last.
struct Allowance: Sendable, Equatable {
    var cap: Int
    var window: TimeInterval
    var cooldown: TimeInterval = 0
}

/// Rows of `limit_windows`. `take` checks and counts in one conditional statement, so parallel
/// requests on PostgreSQL cannot all slip under a limit that one of them reaches.
struct LimitStore: Sendable {
    let db: any Database

    /// Removes rows whose every window and pause ended before `cutoff` (no allowance is longer
    /// than a day): a missing row counts from zero, as such a row would. One statement.
    func prune(before cutoff: Date) async throws -> Int {
        try await db.sql().raw("""
            DELETE FROM limit_windows WHERE last_at < \(bind: cutoff) AND window_start < \(bind: cutoff) RETURNING key
            """).all().count
    }

    /// Counts one use of `key` if the allowance has room; false (nothing counted) otherwise.
    func take(_ key: String, _ allowance: Allowance, at now: Date) async throws -> Bool {
        try await take([(key, allowance)], at: now) == nil
    }

    /// Counts one use of each key in turn while each has room (one conditional statement each);
    /// answers the first that had none (it and the ones after it are not counted), or nil when
    /// all were counted. On PostgreSQL the steps run as one statement (one round trip), each
    /// only after the one before it counted.
    func take(_ allowances: [(String, Allowance)], at now: Date) async throws -> Int? {
        let sql = try db.sql()
        guard SQLEngine.of(db) == .postgres, allowances.count > 1 else {
            for (index, (key, allowance)) in allowances.enumerated() {
                guard try await sql.raw(Self.taking(key, allowance, at: now, after: nil)).first() != nil else { return index }
            }
            return nil
        }
        let steps = Self.steps(allowances, at: now)
        guard let row = try await sql.raw("WITH " + steps.parts + " SELECT " + steps.taken).first() else { return 0 }
        return try Self.firstUntaken(allowances.count, in: row)
    }

    /// `take` as parts of another PostgreSQL statement, so that the taking costs no round trip
    /// of its own: `parts`, the steps that count each use in turn (`stepN AS (…)`), for its
    /// `WITH`; `taken`, the columns (`takenN`) it selects for `firstUntaken`. The steps run
    /// whatever the statement's own part finds (a data-modifying `WITH` part always runs).
    static func steps(_ allowances: [(String, Allowance)], at now: Date) -> (parts: SQLQueryString, taken: SQLQueryString) {
        var steps: [SQLQueryString] = []
        var taken: [SQLQueryString] = []
        for (index, (key, allowance)) in allowances.enumerated() {
            let step = taking(key, allowance, at: now, after: index == 0 ? nil : "step\(index - 1)")
            steps.append("step\(unsafeRaw: String(index)) AS (" + step + ")")
            taken.append("(SELECT COUNT(*) FROM step\(unsafeRaw: String(index))) AS taken\(unsafeRaw: String(index))")
        }
        return (steps.joined(separator: ", "), taken.joined(separator: ", "))
    }

    /// From a row with the columns of `steps(…).taken` for `count` allowances: the first that had
    /// no room, or nil when all were counted (as `take` answers).
    static func firstUntaken(_ count: Int, in row: some SQLRow) throws -> Int? {
        for index in 0..<count where try row.decode(column: "taken\(index)", as: Int.self) == 0 {
            return index
        }
        return nil
    }

    /// The statement that counts one use of `key` if its allowance has room (`RETURNING count`),
    /// on PostgreSQL only once the step `after` has returned its row.
    private static func taking(_ key: String, _ allowance: Allowance, at now: Date, after: String?) -> SQLQueryString {
        let windowOver = now.addingTimeInterval(-allowance.window)
        let cooled = now.addingTimeInterval(-allowance.cooldown)
        let values: SQLQueryString = after.map { "SELECT \(bind: key), \(bind: now), 1, \(bind: now) WHERE EXISTS (SELECT 1 FROM \(unsafeRaw: $0))" }
            ?? "VALUES (\(bind: key), \(bind: now), 1, \(bind: now))"
        return "INSERT INTO limit_windows (key, window_start, count, last_at) " + values + """

            ON CONFLICT (key) DO UPDATE SET
              count = CASE WHEN limit_windows.window_start <= \(bind: windowOver) THEN 1 ELSE limit_windows.count + 1 END,
              window_start = CASE WHEN limit_windows.window_start <= \(bind: windowOver) THEN \(bind: now) ELSE limit_windows.window_start END,
              last_at = \(bind: now)
            WHERE limit_windows.last_at <= \(bind: cooled)
              AND (limit_windows.window_start <= \(bind: windowOver) OR limit_windows.count < \(bind: allowance.cap))
            RETURNING count
            """
    }

    /// Seconds until `key` has room again (after `take` said no).
    func wait(_ key: String, _ allowance: Allowance, at now: Date) async throws -> Int {
        guard let row = try await db.sql().select().columns("window_start", "count", "last_at").from("limit_windows")
            .where("key", .equal, key).first() else { return 1 }
        let start = try row.decode(column: "window_start", as: Date.self)
        let count = try row.decode(column: "count", as: Int.self)
        let last = try row.decode(column: "last_at", as: Date.self)
        var until = last.addingTimeInterval(allowance.cooldown)
        if count >= allowance.cap { until = max(until, start.addingTimeInterval(allowance.window)) }
        return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
    }
}
