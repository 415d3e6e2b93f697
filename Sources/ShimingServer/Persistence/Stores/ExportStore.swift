import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Data exports prepared in the background.
    var exports: ExportStore { ExportStore(db: database) }
}

/// A data export prepared in the background (the ZIP itself is a sealed file under the export's
/// id, under the account's own key).
struct ExportJob: Sendable, Equatable {
    enum State: String, Sendable, CaseIterable {
        case preparing
        case ready
        case failed
        case expired
    }

    var id: UUID
    var accountID: UUID
    var state: State
    var lang: Lang
    var requestedAt: Date
    var readyAt: Date?
    var expiresAt: Date?
    /// The ZIP's size in bytes, once ready.
    var size: Int?
}

/// Rows of `data_exports`. Every change of state is one conditional statement, so two
/// instances never build one export twice nor mark it twice.
struct ExportStore: Sendable {
    let db: any Database

    private static let columns: SQLQueryString = "id, account_id, state, lang, requested_at, ready_at, expires_at, size"

    private static func job(_ row: any SQLRow) throws -> ExportJob {
        ExportJob(id: try row.decode(column: "id", as: UUID.self), accountID: try row.decode(column: "account_id", as: UUID.self),
                  state: ExportJob.State(rawValue: try row.decode(column: "state", as: String.self)) ?? .failed,
                  lang: Lang(rawValue: try row.decode(column: "lang", as: String.self)) ?? .zhCN,
                  requestedAt: try row.decode(column: "requested_at", as: Date.self), readyAt: try row.decode(column: "ready_at", as: Date?.self),
                  expiresAt: try row.decode(column: "expires_at", as: Date?.self), size: try row.decode(column: "size", as: Int?.self))
    }

    func insert(_ job: ExportJob) async throws {
        try await db.sql().raw("""
            INSERT INTO data_exports (id, account_id, state, lang, requested_at)
            VALUES (\(bind: job.id), \(bind: job.accountID), \(bind: job.state.rawValue), \(bind: job.lang.rawValue), \(bind: job.requestedAt))
            """).run()
    }

    func find(_ id: UUID) async throws -> ExportJob? {
        try await db.sql().raw("SELECT \(Self.columns) FROM data_exports WHERE id = \(bind: id)").first().map(Self.job)
    }

    /// The account's exports, newest first.
    func list(account: UUID, limit: Int = 10) async throws -> [ExportJob] {
        try await db.sql().raw("""
            SELECT \(Self.columns) FROM data_exports WHERE account_id = \(bind: account) ORDER BY requested_at DESC LIMIT \(bind: limit)
            """).all().map(Self.job)
    }

    /// Claims up to `limit` exports waiting to be built (or whose builder's lease ran out) for
    /// `lease` seconds.
    func claim(at now: Date, lease: TimeInterval, limit: Int) async throws -> [ExportJob] {
        try await db.sql().raw("""
            UPDATE data_exports SET lease_until = \(bind: now.addingTimeInterval(lease))
            WHERE id IN (SELECT id FROM data_exports WHERE state = 'preparing' AND (lease_until IS NULL OR lease_until < \(bind: now))
                         ORDER BY requested_at LIMIT \(bind: limit))
              AND state = 'preparing' AND (lease_until IS NULL OR lease_until < \(bind: now))
            RETURNING \(Self.columns)
            """).all().map(Self.job)
    }

    /// Marks a claimed export ready until `expires`; false when it is no longer being prepared.
    func markReady(_ id: UUID, size: Int, at now: Date, expires: Date) async throws -> Bool {
        try await db.sql().raw("""
            UPDATE data_exports SET state = 'ready', size = \(bind: size), ready_at = \(bind: now), expires_at = \(bind: expires), lease_until = NULL
            WHERE id = \(bind: id) AND state = 'preparing' RETURNING id
            """).first() != nil
    }

    func markFailed(_ id: UUID) async throws {
        try await db.sql().raw("UPDATE data_exports SET state = 'failed', lease_until = NULL WHERE id = \(bind: id) AND state = 'preparing'").run()
    }

    /// Ready exports past their time, each marked expired by the one statement that finds it.
    func expire(at now: Date, limit: Int) async throws -> [UUID] {
        try await db.sql().raw("""
            UPDATE data_exports SET state = 'expired'
            WHERE id IN (SELECT id FROM data_exports WHERE state = 'ready' AND expires_at < \(bind: now) LIMIT \(bind: limit))
              AND state = 'ready' RETURNING id
            """).all().map { try $0.decode(column: "id", as: UUID.self) }
    }

    /// Removes the account's export rows (erasure; their files are removed by the caller).
    func removeAll(of account: UUID) async throws -> [UUID] {
        try await db.sql().raw("DELETE FROM data_exports WHERE account_id = \(bind: account) RETURNING id").all()
            .map { try $0.decode(column: "id", as: UUID.self) }
    }
}
