import FluentKit
import Foundation
import ShimingCore
import SQLKit

/// The reads a move starts from, each in one statement.
extension CaseStore {
    /// `locked`, with the case's next history number (`nextSeq`) read in the same statement, for
    /// the transactions that move the case: one round trip fewer on PostgreSQL.
    func lockedForMoves(_ id: UUID, version: Int) async throws -> (StoredCase, nextSeq: Int) {
        let (found, row) = try await locked(id, version: version, reading: "")
        return (found, try row.value("next_seq"))
    }

    struct SubmissionReads: Sendable {
        /// The case, at the version the submission started from (`lockedForMoves`).
        let record: StoredCase
        /// Its next history number.
        let nextSeq: Int
        /// The account's first submissions to the program after `since` (`firstSubmissions`):
        /// how many, and the oldest.
        let recentCount: Int
        let oldestRecent: Date?
        /// Whether a case of another account holds the number the case stores, in a state that
        /// holds an identity (`numberHeldByOthers` for the stored index alone).
        let storedNumberHeldByOthers: Bool
        /// Of the allowances given to take (`LimitStore.take`), the first that had no room (it
        /// and the ones after it are not counted); nil when all were counted, or none given.
        let untaken: Int?
        /// The row read, with any columns the caller added (`alsoReading`).
        let row: any SQLRow
    }

    /// The reads a submission makes before it decides, in one round trip instead of four: the
    /// case and its next history number, the application limit's count, the duplicate check
    /// for the number the case stores, and the taking of allowances in turn (`LimitStore.take`,
    /// as parts of the same statement on PostgreSQL; before the read on SQLite). `since` nil: the
    /// program has no application limit (the count is 0). `case_changed` on another version,
    /// 404 on an unknown case (the transaction's rollback then undoes what was taken). On
    /// PostgreSQL the case's row is locked until the transaction ends (`saveLocked`).
    func lockedForSubmission(_ id: UUID, version: Int, account: UUID, program: String, since: Date?,
                             taking: (allowances: [(String, Allowance)], at: Date)? = nil,
                             alsoReading: (join: SQLQueryString, columns: SQLQueryString)? = nil) async throws -> SubmissionReads {
        var untaken: Int?
        var steps: (parts: SQLQueryString, taken: SQLQueryString)?
        if let (allowances, now) = taking, !allowances.isEmpty {
            if SQLEngine.of(db) == .postgres {
                steps = LimitStore.steps(allowances, at: now)
            } else {
                untaken = try await LimitStore(db: db).take(allowances, at: now)
            }
        }
        let recent = Self.firstSubmissions(account: account, program: program, since: since)
        let (found, row) = try await locked(id, version: version, with: steps.map { "WITH " + $0.parts + " " }, joining: alsoReading?.join,
                                            forUpdate: true, reading: """
            , (SELECT COUNT(*) \(recent)) AS recent_count, (SELECT MIN(at) \(recent)) AS oldest_recent,
            CASE WHEN EXISTS (SELECT 1 FROM cases AS others WHERE others.number_index = cases.number_index
              AND others.account_id <> \(bind: account) AND others.state IN (\(binds: Self.holdingStates))) THEN 1 ELSE 0 END AS held
            """ + (steps.map { ", " + $0.taken } ?? "") + (alsoReading.map { ", " + $0.columns } ?? ""))
        if let taking, steps != nil { untaken = try LimitStore.firstUntaken(taking.allowances.count, in: row) }
        return SubmissionReads(record: found, nextSeq: try row.value("next_seq"), recentCount: try row.value("recent_count"),
                               oldestRecent: try row.value("oldest_recent"), storedNumberHeldByOthers: try row.value("held") == 1,
                               untaken: untaken, row: row)
    }

    /// The case at `version` (404 unknown, `case_changed` at another), its account's keys loaded,
    /// and its row, with the next history number as `next_seq` and the columns `also` adds;
    /// `with`, the statement's `WITH` clause, and `joining`, what is joined to the case's row, if any.
    /// `forUpdate`: on PostgreSQL the case's row is locked until the transaction ends.
    private func locked(_ id: UUID, version: Int, with: SQLQueryString? = nil, joining: SQLQueryString? = nil, forUpdate: Bool = false,
                        reading also: SQLQueryString) async throws -> (StoredCase, any SQLRow) {
        let lock: SQLQueryString = forUpdate && SQLEngine.of(db) == .postgres ? " FOR UPDATE OF cases" : ""
        guard let row = try await db.sql().raw((with ?? "") + """
            SELECT \(Self.columns), \(Self.nextSeq(of: "cases.id")) AS next_seq \(also) FROM cases \(joining ?? "") WHERE cases.id = \(bind: id)
            """ + lock).first() else { throw CommonErrors.notFound }
        let found = try Self.value(row: row)
        guard found.version == version else { throw CaseErrors.changed }
        try await keys.load([found.accountID])
        return (found, row)
    }
}

extension CaseStore {
    /// `save` for a case whose row this transaction locked when it read it at `item.version`
    /// (`lockedForSubmission`): on PostgreSQL the update cannot miss, so it waits to go with
    /// the transaction's next statement (`runDeferred`) and the version is counted here. On
    /// SQLite, as `save`.
    func saveLocked(_ item: inout StoredCase, at now: Date) async throws {
        guard SQLEngine.of(db) == .postgres, db.inTransaction else { return try await save(&item, at: now) }
        item.updatedAt = now
        try await db.sql().runDeferred(try Self.update(item, at: now))
        item.version += 1
    }
}
