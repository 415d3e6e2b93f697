import Fluent
import Foundation
import ShimingCore

/// Risk alerts (P5): raised by the system where something looks wrong — a failed verification,
/// a number already held by another account, a frequency limit hit — or by staff; supervisors
/// acknowledge and resolve them. A repeat of an alert still open counts up on it instead of
/// opening another, so a burst of refused requests is one line to look at.
struct RiskAlertService: Sendable {
    let context: ShimingContext
    let database: DatabaseProvider
    var db: any Database { database() }
    var now: Date { context.services.clock.now() }

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        self.context = context
        self.database = database
    }

    enum Kind: String, CaseIterable {
        case failedVerification = "failed_verification"
        case duplicateIdentity = "duplicate_identity"
        case rateLimited = "rate_limited"
        case staff
    }

    static let active = RiskAlertState.active.map(\.rawValue)

    /// Raises a system alert in the caller's transaction, or counts up the open one.
    static func raise(_ kind: Kind, subject: String, program: String?, details: [String: String], at now: Date, on tx: any Database) async throws {
        if let open = try await RiskAlertRecord.query(on: tx).filter(\.$kind == kind.rawValue).filter(\.$subject == subject)
            .filter(\.$state ~~ active).first() {
            open.count += 1
            open.lastSeenAt = now
            try await open.save(on: tx)
            try await AuditLog.record("risk_alert.repeated", actor: .system, subject: Self.subject(try open.requireID()),
                                      details: ["count": String(open.count)], at: now, on: tx)
            return
        }
        try await create(kind, id: UUID(), subject: subject, program: program, details: details, noteSealed: nil, by: nil, at: now, on: tx)
    }

    /// The same, in a transaction of its own (after a refusal that wrote nothing else).
    static func raiseAlone(_ kind: Kind, subject: String, program: String?, details: [String: String], at now: Date,
                           gate: WriteGate, on db: any Database) async throws {
        try await gate.transaction(on: db) { tx in
            try await raise(kind, subject: subject, program: program, details: details, at: now, on: tx)
        }
    }

    @discardableResult
    static func create(_ kind: Kind, id: UUID, subject: String, program: String?, details: [String: String], noteSealed: String?,
                       by staff: UUID?, at now: Date, on tx: any Database) async throws -> RiskAlertRecord {
        let alert = RiskAlertRecord()
        alert.id = id
        alert.kind = kind.rawValue
        alert.subject = subject
        alert.program = program
        alert.details = try CaseService.json(details)
        alert.noteSealed = noteSealed
        alert.raisedBy = staff
        alert.state = RiskAlertState.open.rawValue
        alert.count = 1
        alert.createdAt = now
        alert.lastSeenAt = now
        try await alert.create(on: tx)
        var audit = details
        audit["kind"] = kind.rawValue
        audit["about"] = subject
        try await AuditLog.record("risk_alert.raised", actor: staff.map(AuditActor.staff) ?? .system, subject: Self.subject(id),
                                  details: audit, at: now, on: tx)
        return alert
    }

    static func subject(_ id: UUID) -> String { "risk_alert:\(id.uuidString.lowercased())" }

    /// A staff member raises an alert about a case or an account, with a note. Reviewers and
    /// teachers may name only cases they may see (teachers: their class); others are unknown.
    func raise(caseID: UUID?, accountID: UUID?, note: String?, staff: Account, ip: String?) async throws -> RiskAlertRecord {
        let note = try FreezeService.text(note, field: "note", max: 1000)
        var subject = "staff:\(staff.id.uuidString.lowercased())"
        var program: String?
        if let caseID {
            var visible = !staff.roles.isDisjoint(with: AccessPolicy.supervise)
            if !visible { visible = try await ReviewTasks.latestVisible(caseID: caseID, to: staff, on: db) != nil }
            guard visible, let record = try await CaseRecord.find(caseID, on: db) else {
                throw AccountError.invalid(["caseId": "not_found"])
            }
            subject = CaseService.subject(caseID)
            program = record.program
        } else if let accountID {
            guard try await AccountRecord.find(accountID, on: db) != nil else { throw AccountError.invalid(["accountId": "not_found"]) }
            subject = "account:\(accountID.uuidString.lowercased())"
        }
        let id = UUID()
        let sealed = try context.cipher.seal(note, context: RiskAlertRecord.context(id))
        return try await context.writeGate.transaction(on: db) { [now, subject, program] tx in
            try await Self.create(.staff, id: id, subject: subject, program: program, details: [:], noteSealed: sealed, by: staff.id, at: now, on: tx)
        }
    }

    /// Acknowledges (`open` → `acknowledged`) or resolves (→ `resolved`, with a note) an alert.
    func move(_ id: UUID, to state: String, note: String?, staff: Account, ip: String?) async throws -> RiskAlertRecord {
        let resolution = state == RiskAlertState.resolved.rawValue ? try FreezeService.text(note, field: "note", max: 1000) : nil
        let cipher = context.cipher
        return try await context.writeGate.transaction(on: db) { [now] tx in
            guard let alert = try await RiskAlertRecord.find(id, on: tx) else { throw CommonErrors.notFound }
            let allowed = state == RiskAlertState.acknowledged.rawValue ? [RiskAlertState.open.rawValue] : Self.active
            guard allowed.contains(alert.state) else {
                throw UserFacingError(code: "invalid_state", kind: .conflict,
                                      message: LocalizedText("该提醒当前状态不能进行这一步。", "The alert cannot take this step in its current state."),
                                      fields: ["state": alert.state])
            }
            alert.state = state
            if state == RiskAlertState.acknowledged.rawValue {
                alert.acknowledgedBy = staff.id
                alert.acknowledgedAt = now
            } else {
                alert.resolvedBy = staff.id
                alert.resolvedAt = now
                alert.resolutionSealed = try resolution.map { try cipher.seal($0, context: RiskAlertRecord.context(id)) }
            }
            try await alert.save(on: tx)
            try await AuditLog.record("risk_alert.\(state)", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, at: now, on: tx)
            return alert
        }
    }

    func list(state: String?) async throws -> [RiskAlertRecord] {
        var query = RiskAlertRecord.query(on: db)
        switch state ?? "active" {
        case "active": query = query.filter(\.$state ~~ Self.active)
        case "all": break
        case let state where RiskAlertState(rawValue: state) != nil: query = query.filter(\.$state == state)
        default: throw AccountError.invalid(["state": "invalid_value"])
        }
        return try await query.sort(\.$lastSeenAt, .descending).limit(500).all()
    }
}
