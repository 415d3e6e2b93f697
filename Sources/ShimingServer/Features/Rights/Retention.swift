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
    let cases: CaseService

    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    /// Applications handled per batch (one transaction and one audit event each).
    static let batchSize = 100

    /// Whether this instance runs today's sweep: one conditional statement on a day-long
    /// window, so among several instances exactly one gets each day's turn.
    func takeDailyTurn() async throws -> Bool {
        try await store.limits.take("sweep:retention", Allowance(cap: 1, window: 86_400), at: now)
    }

    /// What is due under one program.
    struct ProgramPlan: Sendable, Equatable {
        var program: String
        var retention: Program.Retention
        /// Applications whose document files are due, with the files.
        var documents: [(caseID: UUID, files: [UUID])]
        /// Applications to shred, with the state that makes them due.
        var shred: [(caseID: UUID, state: CaseState)]

        static func == (lhs: Self, rhs: Self) -> Bool {
            lhs.program == rhs.program && lhs.retention == rhs.retention
                && lhs.documents.map(\.caseID) == rhs.documents.map(\.caseID) && lhs.documents.map(\.files) == rhs.documents.map(\.files)
                && lhs.shred.map(\.caseID) == rhs.shred.map(\.caseID)
        }
    }

    /// What the next sweep would do, per program (`limit` applications of each kind per program).
    func plan(at now: Date, limit: Int = 10_000) async throws -> [ProgramPlan] {
        var plans: [ProgramPlan] = []
        for program in context.programs.programs {
            let retention = program.retention
            let day: TimeInterval = 86_400
            let documents = try await store.retention.documentsDue(program: program.key, before: now - Double(retention.documents) * day, limit: limit)
            let shred = try await store.retention.shreddingDue(program: program.key, abandoned: now - Double(retention.afterRejection) * day,
                                                              ended: now - Double(retention.caseData) * day, limit: limit)
            plans.append(ProgramPlan(program: program.key, retention: retention, documents: documents.map { ($0.0.caseID, $0.1) },
                                     shred: shred.map { ($0.caseID, $0.state) }))
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

    /// Deletes and shreds what is due, in batches of `batchSize` (each its own transaction and
    /// audit event); an application changed meanwhile is left for the next sweep.
    func sweep() async throws -> SweepResult {
        let now = self.now
        var result = SweepResult()
        let day: TimeInterval = 86_400
        for program in context.programs.programs {
            let retention = program.retention
            let documents = try await store.retention.documentsDue(program: program.key, before: now - Double(retention.documents) * day, limit: 10_000)
            for batch in documents.chunked(Self.batchSize) {
                let done = try await deleteDocuments(batch, program: program.key, at: now)
                result.documentCases += done.map(\.0)
                result.files += done.flatMap(\.1)
            }
            let shred = try await store.retention.shreddingDue(program: program.key, abandoned: now - Double(retention.afterRejection) * day,
                                                              ended: now - Double(retention.caseData) * day, limit: 10_000)
            for batch in shred.chunked(Self.batchSize) {
                result.shredded += try await self.shred(batch, program: program.key, at: now)
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
                    "cases": done.map { $0.0.uuidString.lowercased() }.joined(separator: ","),
                ], at: now)
            }
            return done
        }
        for file in done.flatMap(\.1) { try? await context.files.remove(file) }
        return done
    }

    private func shred(_ batch: [RetentionStore.Due], program: String, at now: Date) async throws -> [UUID] {
        let emptyApplication = CaseApplication()
        let (done, files) = try await store.transaction { [cases] tx -> ([UUID], [UUID]) in
            var done: [UUID] = []
            var files: [UUID] = []
            for due in batch {
                guard let current = try await tx.cases.find(due.caseID), current.version == due.version else { continue }
                var decision = current.decision
                decision?.noteSealed = nil
                decision?.messageSealed = nil
                guard try await tx.retention.shred(due, emptySealed: try cases.seal(emptyApplication, id: due.caseID),
                                                   decision: try decision.map(StoredJSON.text), at: now) else { continue }
                let documents = try await tx.files(of: [due.caseID], purpose: CaseService.documentPurpose).map(\.id)
                try await tx.deleteFiles(documents)
                try await tx.retention.deleteContacts(of: due.caseID)
                files += documents
                done.append(due.caseID)
            }
            if !done.isEmpty {
                try await tx.audit("retention.shredded", actor: .system, subject: "program:\(program)", details: [
                    "applications": String(done.count), "files": String(files.count),
                    "cases": done.map { $0.uuidString.lowercased() }.joined(separator: ","),
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
