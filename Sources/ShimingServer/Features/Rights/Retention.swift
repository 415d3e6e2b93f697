import Foundation
import ShimingCore

/// Storage limitation (PIPL art. 19): each program says how long its applications' personal
/// data is kept (`Program.Retention`). The daily sweep deletes document files after their
/// period, and shreds applications that are over — the details, the number's index, the class,
/// the decision's words, the documents and staff's contact notes go; the fact that an
/// application was made, its program, state and times, its history and the audit chain stay.
/// `plan` is what `shiming retention report` prints; `sweep` does exactly that plan.
struct RetentionService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    /// Applications handled per batch (one transaction and one audit event each).
    static let batchSize = 100

    /// Whether this instance runs today's sweep: one conditional statement on a day-long
    /// window, so among several instances exactly one gets each day's turn. A write, so through
    /// the write gate: on SQLite, a write beside the gate's own connection made a group of
    /// waiting requests fail with "database is locked" at every sweep that met one.
    func takeDailyTurn() async throws -> Bool {
        let now = now
        return try await store.transaction { tx in try await tx.limits.take("sweep:retention", Allowance(cap: 1, window: 86_400), at: now) }
    }

    /// What is due under one program.
    struct ProgramPlan: Sendable {
        var program: String
        var retention: Program.Retention
        /// Applications whose document files are due, with the files.
        var documents: [(due: RetentionStore.Due, files: [UUID])]
        /// Applications to shred (with the state that makes them due).
        var shred: [RetentionStore.Due]
    }

    /// What the next sweep would do, per program (`limit` applications of each kind per program).
    func plan(at now: Date, limit: Int = 10_000) async throws -> [ProgramPlan] {
        let day: TimeInterval = 86_400
        var plans: [ProgramPlan] = []
        for program in context.programs.programs {
            let retention = program.retention
            let documents = try await store.retention.documentsDue(program: program.key, before: now - Double(retention.documents) * day, limit: limit)
            let shred = try await store.retention.shreddingDue(program: program.key, abandoned: now - Double(retention.afterRejection) * day,
                                                              ended: now - Double(retention.caseData) * day, limit: limit)
            plans.append(ProgramPlan(program: program.key, retention: retention, documents: documents.map { (due: $0.0, files: $0.1) }, shred: shred))
        }
        return plans
    }

    /// What one sweep did.
    struct SweepResult: Sendable, Equatable {
        /// Applications whose documents were deleted, and the files.
        var documentCases: [UUID] = []
        var files: [UUID] = []
        /// Applications shredded.
        var shredded: [UUID] = []
    }

    /// Does the plan of now — what `retention report` prints — in batches of `batchSize` (each
    /// its own transaction and audit event); an application changed since it was planned is left
    /// for the next sweep.
    func sweep() async throws -> SweepResult {
        let now = self.now
        var result = SweepResult()
        for plan in try await plan(at: now) {
            for batch in plan.documents.chunked(Self.batchSize) {
                let done = try await deleteDocuments(batch.map { ($0.due, $0.files) }, program: plan.program, at: now)
                result.documentCases += done.map(\.0)
                result.files += done.flatMap(\.1)
            }
            for batch in plan.shred.chunked(Self.batchSize) {
                result.shredded += try await shred(batch, program: plan.program, at: now)
            }
        }
        return result
    }

    private func deleteDocuments(_ batch: [(RetentionStore.Due, [UUID])], program: String, at now: Date) async throws -> [(UUID, [UUID])] {
        let done = try await store.transaction { tx -> [(UUID, [UUID])] in
            var done: [(UUID, [UUID])] = []
            for (due, files) in batch {
                // Only if the application is still as found (a reopened appeal keeps its documents).
                guard let current = try await tx.cases.find(due.caseID), current.version == due.version else { continue }
                try await tx.deleteFiles(files)
                done.append((due.caseID, files))
            }
            if !done.isEmpty {
                try await tx.audit("retention.documents_deleted", actor: .system, subject: "program:\(program)", details: [
                    "applications": String(done.count), "files": String(done.flatMap(\.1).count),
                    "cases": done.map { $0.0.lowercasedText }.joined(separator: ","),
                ], at: now)
            }
            return done
        }
        for file in done.flatMap(\.1) { try? await context.files.remove(file) }
        return done
    }

    private func shred(_ batch: [RetentionStore.Due], program: String, at now: Date) async throws -> [UUID] {
        let (done, files) = try await store.transaction { tx -> ([UUID], [UUID]) in
            var done: [UUID] = []
            var files: [UUID] = []
            for due in batch {
                guard let current = try await tx.cases.find(due.caseID), current.version == due.version,
                      try await tx.retention.shred(current, at: now) else { continue }
                let documents = try await tx.files(of: [due.caseID], purpose: CaseService.documentPurpose).map(\.id)
                try await tx.deleteFiles(documents)
                files += documents
                done.append(due.caseID)
            }
            if !done.isEmpty {
                try await tx.audit("retention.shredded", actor: .system, subject: "program:\(program)", details: [
                    "applications": String(done.count), "files": String(files.count),
                    "cases": done.map { $0.lowercasedText }.joined(separator: ","),
                ], at: now)
            }
            return (done, files)
        }
        for file in files { try? await context.files.remove(file) }
        return done
    }
}

extension Array {
    /// The elements in consecutive slices of at most `size`.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
