import Foundation
import ShimingCore

/// Risk alerts (P5): raised by the system where something looks wrong — a failed verification,
/// a number already held by another account, a frequency limit hit — or by staff; supervisors
/// acknowledge and resolve them. A repeat of an alert still open counts up on it instead of
/// opening another, so a burst of refused requests is one line to look at.
struct RiskAlertService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }

    init(context: ShimingContext, stores: @escaping StoreProvider) {
        self.context = context
        self.stores = stores
    }

    enum Kind: String, CaseIterable {
        case failedVerification = "failed_verification"
        case duplicateIdentity = "duplicate_identity"
        case rateLimited = "rate_limited"
        case staff
    }

    /// Raises a system alert in the caller's transaction, or counts up the open one.
    static func raise(_ kind: Kind, subject: String, program: String?, details: [String: String], at now: Date, in tx: Store) async throws {
        if let open = try await tx.alerts.active(kind: kind.rawValue, subject: subject),
           let count = try await tx.alerts.countRepeat(open.id, at: now) {
            try await tx.audit("risk_alert.repeated", actor: .system, subject: Self.subject(open.id),
                               details: ["count": String(count)], at: now)
            return
        }
        try await create(kind, id: UUID(), subject: subject, program: program, details: details, noteSealed: nil, by: nil, at: now, in: tx)
    }

    /// The same, in a transaction of its own (after a refusal that wrote nothing else).
    static func raiseAlone(_ kind: Kind, subject: String, program: String?, details: [String: String], at now: Date,
                           in store: Store) async throws {
        try await store.transaction { tx in
            try await raise(kind, subject: subject, program: program, details: details, at: now, in: tx)
        }
    }

    @discardableResult
    static func create(_ kind: Kind, id: UUID, subject: String, program: String?, details: [String: String], noteSealed: String?,
                       by staff: UUID?, at now: Date, in tx: Store) async throws -> RiskAlert {
        let alert = RiskAlert(id: id, kind: kind.rawValue, subject: subject, program: program, details: details, noteSealed: noteSealed,
                              raisedBy: staff, state: .open, count: 1, createdAt: now, lastSeenAt: now)
        try await tx.alerts.insert(alert)
        var audit = details
        audit["kind"] = kind.rawValue
        audit["about"] = subject
        try await tx.audit("risk_alert.raised", actor: staff.map(AuditActor.staff) ?? .system, subject: Self.subject(id),
                           details: audit, at: now)
        return alert
    }

    static func subject(_ id: UUID) -> String { "risk_alert:\(id.lowercasedText)" }

    /// A staff member raises an alert about a case or an account, with a note. Reviewers and
    /// teachers may name only cases they may see (teachers: their class); others are unknown.
    func raise(caseID: UUID?, accountID: UUID?, note: String?, staff: Account, ip: String?) async throws -> RiskAlert {
        let note = try FreezeService.text(note, field: "note", max: 1000)
        let store = store
        var subject = "staff:\(staff.id.lowercasedText)"
        var program: String?
        if let caseID {
            var visible = !staff.roles.isDisjoint(with: AccessPolicy.supervise)
            if !visible { visible = try await ReviewTasks.latestVisible(caseID: caseID, to: staff, in: store) != nil }
            guard visible, let caseProgram = try await store.cases.find(caseID)?.program else {
                throw AccountError.invalid(["caseId": "not_found"])
            }
            subject = CaseService.subject(caseID)
            program = caseProgram
        } else if let accountID {
            guard try await store.accounts.find(accountID) != nil else { throw AccountError.invalid(["accountId": "not_found"]) }
            subject = AccountService.subject(accountID)
        }
        let id = UUID()
        let sealed = try context.cipher.seal(note, context: RiskAlert.context(id))
        return try await store.transaction { [now, subject, program] tx in
            try await Self.create(.staff, id: id, subject: subject, program: program, details: [:], noteSealed: sealed, by: staff.id, at: now, in: tx)
        }
    }

    /// Acknowledges (`open` → `acknowledged`) or resolves (→ `resolved`, with a note) an alert.
    func move(_ id: UUID, to state: RiskAlertState, note: String?, staff: Account, ip: String?) async throws -> RiskAlert {
        let resolution = state == .resolved ? try FreezeService.text(note, field: "note", max: 1000) : nil
        let cipher = context.cipher
        return try await store.transaction { [now] tx in
            guard var alert = try await tx.alerts.find(id) else { throw CommonErrors.notFound }
            let allowed: [RiskAlertState] = state == .acknowledged ? [.open] : RiskAlertState.active
            guard allowed.contains(alert.state) else {
                throw UserFacingError(code: "invalid_state", kind: .conflict,
                                      message: LocalizedText("该提醒当前状态不能进行这一步。", "The alert cannot take this step in its current state."),
                                      fields: ["state": alert.state.rawValue])
            }
            alert.state = state
            if state == .acknowledged {
                alert.acknowledgedBy = staff.id
                alert.acknowledgedAt = now
            } else {
                alert.resolvedBy = staff.id
                alert.resolvedAt = now
                alert.resolutionSealed = try resolution.map { try cipher.seal($0, context: RiskAlert.context(id)) }
            }
            try await tx.alerts.update(alert)
            try await tx.audit("risk_alert.\(state.rawValue)", actor: .staff(staff.id), subject: Self.subject(id), ip: ip, at: now)
            return alert
        }
    }

    /// The alerts in a state, `active` (open or acknowledged, the default) or `all`.
    func list(state: String?) async throws -> [RiskAlert] {
        let states: [RiskAlertState]?
        switch state ?? "active" {
        case "active": states = RiskAlertState.active
        case "all": states = nil
        case let name: guard let one = RiskAlertState(rawValue: name) else { throw AccountError.invalid(["state": "invalid_value"]) }
            states = [one]
        }
        return try await store.alerts.list(states: states, limit: 500)
    }

    /// How many alerts nobody has looked at yet.
    func openCount() async throws -> Int { try await store.alerts.count(in: .open) }
}
