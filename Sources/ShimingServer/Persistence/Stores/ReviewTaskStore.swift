import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Review tasks and the contact log of cases.
    var reviewTasks: ReviewTaskStore { ReviewTaskStore(db: database, cipher: cipher, keys: keys) }
}

/// Rows of `review_tasks` ⇄ `ReviewTask`, and `case_contacts`. A claim, a release, an
/// escalation and a return to the queue are each one conditional statement.
struct ReviewTaskStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let keys: AccountKeys

    func find(_ id: UUID) async throws -> ReviewTask? {
        try await ReviewTaskRecord.find(id, on: db).map(Self.value)
    }

    /// A case's newest task.
    func latest(caseID: UUID) async throws -> ReviewTask? {
        try await ReviewTaskRecord.query(on: db).filter(\.$caseID == caseID).sort(\.$createdAt, .descending).first().map(Self.value)
    }

    func insert(_ task: ReviewTask) async throws {
        let record = ReviewTaskRecord()
        record.id = task.id
        record.caseID = task.caseID
        record.program = task.program
        record.state = task.state.rawValue
        record.routing = task.routing
        record.kind = task.kind
        record.scopeSchool = task.scopeSchool
        record.scopeGrade = task.scopeGrade
        record.scopeClass = task.scopeClass
        record.reason = task.reason
        record.dueAt = task.dueAt
        record.assigneeID = task.assigneeID
        record.claimedAt = task.claimedAt
        record.escalatedAt = task.escalatedAt
        record.excludedID = task.excludedID
        record.outcome = task.outcome
        record.decidedBy = task.decidedBy
        record.createdAt = task.createdAt
        record.closedAt = task.closedAt
        try await record.create(on: db)
    }

    /// The tasks in `state` the staff member may see (`mine`, `unclaimed`, `escalated` or
    /// all), oldest due first; the database applies `ReviewTasks.visible`.
    func visible(to staff: Account, state: ReviewTaskState, scope: String, limit: Int) async throws -> [ReviewTask] {
        var query = ReviewTaskRecord.query(on: db).filter(\.$state == state.rawValue)
        switch scope {
        case "mine": query = query.filter(\.$assigneeID == staff.id)
        case "unclaimed": query = query.filter(\.$assigneeID == nil)
        case "escalated": query = query.filter(\.$escalatedAt != nil)
        default: break
        }
        if staff.roles.isDisjoint(with: AccessPolicy.supervise) {
            let reviewer = staff.roles.contains(.reviewer)
            let scope = staff.roles.contains(.teacher) ? staff.scope : nil
            guard reviewer || scope != nil else { return [] }
            query = query.group(.or) { either in
                if reviewer { either.filter(\.$routing == Program.Routing.pool.rawValue) }
                if let scope {
                    either.group(.and) { own in
                        own.filter(\.$routing == Program.Routing.classTeacher.rawValue)
                            .filter(\.$scopeSchool == NameMatching.labelKey(scope.school))
                            .filter(\.$scopeGrade == NameMatching.labelKey(scope.grade))
                            .filter(\.$scopeClass == NameMatching.labelKey(scope.className))
                    }
                }
            }
        }
        return try await query.sort(\.$dueAt).limit(limit).all().map(Self.value)
    }

    /// Claims an open task for `staff` unless someone else holds a claim newer than `idleSince`;
    /// false when another claim (or the task's end) came first.
    func claim(_ id: UUID, for staff: UUID, at now: Date, idleSince: Date) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE review_tasks SET assignee_id = \(bind: staff), claimed_at = \(bind: now)
            WHERE id = \(bind: id) AND state = 'open'
            AND (assignee_id IS NULL OR assignee_id = \(bind: staff) OR claimed_at IS NULL OR claimed_at < \(bind: idleSince))
            RETURNING id
            """).first() != nil
    }

    /// Gives back the claim `assignee` holds on an open task; false when there was none.
    @discardableResult
    func release(_ id: UUID, heldBy assignee: UUID) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE review_tasks SET assignee_id = NULL, claimed_at = NULL
            WHERE id = \(bind: id) AND state = 'open' AND assignee_id = \(bind: assignee)
            RETURNING id
            """).first() != nil
    }

    /// Returns a claim to the queue if it is still idle (not touched since `before`); false
    /// when the holder worked on it meanwhile, or it ended.
    func releaseIdle(_ id: UUID, claimedBefore before: Date) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE review_tasks SET assignee_id = NULL, claimed_at = NULL
            WHERE id = \(bind: id) AND state = 'open' AND assignee_id IS NOT NULL AND claimed_at < \(bind: before)
            RETURNING id
            """).first() != nil
    }

    /// Marks work on the staff member's claimed open task of a case.
    func touch(caseID: UUID, staff: UUID, at now: Date) async throws {
        try await ReviewTaskRecord.query(on: db).filter(\.$caseID == caseID).filter(\.$state == ReviewTaskState.open.rawValue)
            .filter(\.$assigneeID == staff).set(\.$claimedAt, to: now).update()
    }

    /// Cancels a case's open tasks (the applicant resubmitted, the account was frozen).
    func cancelOpen(caseID: UUID, at now: Date) async throws {
        try await db.sql().runDeferred("""
            UPDATE review_tasks SET state = \(bind: ReviewTaskState.cancelled.rawValue), closed_at = \(bind: now)
            WHERE case_id = \(bind: caseID) AND state = \(bind: ReviewTaskState.open.rawValue)
            """)
    }

    /// Marks an open task decided; false when it was no longer open.
    func close(_ id: UUID, outcome: String, by staff: UUID, at now: Date) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE review_tasks SET state = \(bind: ReviewTaskState.done.rawValue), outcome = \(bind: outcome), decided_by = \(bind: staff),
            assignee_id = COALESCE(assignee_id, \(bind: staff)), closed_at = \(bind: now)
            WHERE id = \(bind: id) AND state = 'open'
            RETURNING id
            """).first() != nil
    }

    /// Open tasks claimed before `before`.
    func idleClaims(before: Date, limit: Int) async throws -> [ReviewTask] {
        try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue).filter(\.$assigneeID != nil)
            .filter(\.$claimedAt < before).limit(limit).all().map(Self.value)
    }

    /// Open tasks past their due time not yet escalated.
    func overdueUnescalated(at now: Date, limit: Int) async throws -> [ReviewTask] {
        try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue).filter(\.$escalatedAt == nil)
            .filter(\.$dueAt < now).limit(limit).all().map(Self.value)
    }

    /// Marks a task escalated once; false when it already was.
    func escalate(_ id: UUID, at now: Date) async throws -> Bool {
        let sql = try db.sql()
        return try await sql.raw("""
            UPDATE review_tasks SET escalated_at = \(bind: now) WHERE id = \(bind: id) AND escalated_at IS NULL RETURNING id
            """).first() != nil
    }

    /// When each staff member was last given a task.
    func lastAssignments(to staff: [UUID]) async throws -> [UUID: Date] {
        guard !staff.isEmpty else { return [:] }
        var last: [UUID: Date] = [:]
        for task in try await ReviewTaskRecord.query(on: db).filter(\.$assigneeID ~~ staff.map { Optional($0) }).all() {
            guard let assignee = task.assigneeID else { continue }
            last[assignee] = max(last[assignee] ?? .distantPast, task.createdAt)
        }
        return last
    }

    /// The open tasks per program: how many, how many unclaimed and overdue, and the oldest's age.
    func queues(at now: Date) async throws -> [String: ReviewTasks.Queue] {
        var queues: [String: ReviewTasks.Queue] = [:]
        for task in try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.open.rawValue)
            .field(\.$id).field(\.$program).field(\.$assigneeID).field(\.$dueAt).field(\.$createdAt).all() {
            var queue = queues[task.program] ?? ReviewTasks.Queue()
            queue.open += 1
            if task.assigneeID == nil { queue.unclaimed += 1 }
            if task.dueAt < now { queue.overdue += 1 }
            queue.oldestAge = max(queue.oldestAge, now.timeIntervalSince(task.createdAt))
            queues[task.program] = queue
        }
        return queues
    }

    // MARK: The contact log

    /// Records a contact with the applicant; the note is sealed here, under the applicant's key.
    func addContact(id: UUID, caseID: UUID, staff: UUID, channel: String, note: String, at now: Date) async throws {
        guard let applicant = try await CaseRecord.find(caseID, on: db)?.accountID else { throw CommonErrors.notFound }
        let cipher = try await keys.sealing(cipher, for: applicant)
        let row = CaseContactRecord()
        row.id = id
        row.caseID = caseID
        row.staffID = staff
        row.channel = channel
        row.noteSealed = try cipher.seal(note, context: CaseContactRecord.context(caseID))
        row.at = now
        try await row.create(on: db)
    }

    /// A case's contact log, oldest first, notes opened.
    func contacts(caseID: UUID) async throws -> [ReviewService.Contact] {
        let records = try await CaseContactRecord.query(on: db).filter(\.$caseID == caseID).sort(\.$at).all()
        try await keys.prepare(records.map(\.noteSealed))
        return try records.map {
            ReviewService.Contact(id: try $0.requireID(), staffID: $0.staffID, channel: $0.channel,
                                  note: try cipher.open($0.noteSealed, context: CaseContactRecord.context(caseID)), at: $0.at)
        }
    }

    static func value(_ record: ReviewTaskRecord) throws -> ReviewTask {
        ReviewTask(
            id: try record.requireID(), caseID: record.caseID, program: record.program,
            state: ReviewTaskState(rawValue: record.state) ?? .open, routing: record.routing, kind: record.kind ?? "review",
            scopeSchool: record.scopeSchool, scopeGrade: record.scopeGrade, scopeClass: record.scopeClass, reason: record.reason,
            dueAt: record.dueAt, assigneeID: record.assigneeID, claimedAt: record.claimedAt, escalatedAt: record.escalatedAt,
            excludedID: record.excludedID, outcome: record.outcome, decidedBy: record.decidedBy, createdAt: record.createdAt,
            closedAt: record.closedAt
        )
    }
}
