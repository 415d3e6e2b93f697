import Fluent
import Foundation
import ShimingCore

extension Store {
    /// What the audit log says about one person's data being looked at.
    var accessLog: AccessLogStore { AccessLogStore(db: database) }
}

/// Reads the audit events about one account's data (never writes: the access log is the audit
/// log, seen from the person's side).
struct AccessLogStore: Sendable {
    let db: any Database

    /// The audit subjects that are about one account: the account itself, its cases, its change
    /// requests and its grants.
    func subjects(of accountID: UUID) async throws -> [String] {
        let cases = try await CaseRecord.query(on: db).filter(\.$accountID == accountID).all(\.$id)
        let requests = try await ChangeRequestRecord.query(on: db).filter(\.$accountID == accountID).all(\.$id)
        let grants = try await GrantRecord.query(on: db).filter(\.$accountID == accountID).all(\.$id)
        return [AccountService.subject(accountID)] + cases.map(CaseService.subject) + requests.map(ChangeRequestService.subject)
            + grants.map(GrantService.subject)
    }

    /// Events of these actions about these subjects, newest first, older than `before` (a
    /// sequence number) when given.
    func events(subjects: [String], actions: [String], before: Int64?, limit: Int) async throws -> [AuditEvent] {
        var query = AuditEventRecord.query(on: db).filter(\.$subject ~~ subjects).filter(\.$action ~~ actions)
        if let before { query = query.filter(\.$seq < before) }
        return try await query.sort(\.$seq, .descending).limit(limit).all().map(\.event)
    }

    /// The roles of staff accounts (their roles only: the access log never names staff).
    func staffRoles(_ ids: [UUID]) async throws -> [UUID: [StaffRole]] {
        guard !ids.isEmpty else { return [:] }
        let records = try await AccountRecord.query(on: db).filter(\.$id ~~ ids).all()
        return try Dictionary(uniqueKeysWithValues: records.map { record in
            (try record.requireID(), record.roles.split(separator: ",").compactMap { StaffRole(rawValue: String($0)) })
        })
    }

    /// Platform names by id.
    func platformNames(_ ids: [UUID]) async throws -> [UUID: String] {
        guard !ids.isEmpty else { return [:] }
        let records = try await PlatformRecord.query(on: db).filter(\.$id ~~ ids).all()
        return try Dictionary(uniqueKeysWithValues: records.map { (try $0.requireID(), $0.name) })
    }
}
