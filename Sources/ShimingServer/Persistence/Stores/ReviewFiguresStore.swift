import Fluent
import Foundation
import ShimingCore

extension Store {
    /// The review work of a period, as the figures need it.
    var reviewFigures: ReviewFiguresStore { ReviewFiguresStore(db: database) }
}

struct ReviewFiguresStore: Sendable {
    let db: any Database

    /// Tasks a person decided in `[from, to)`.
    func decisions(from: Date, to: Date) async throws -> [ReviewFigures.Decision] {
        try await ReviewTaskRecord.query(on: db).filter(\.$state == ReviewTaskState.done.rawValue).filter(\.$decidedBy != nil)
            .filter(\.$closedAt >= from).filter(\.$closedAt < to).all()
            .compactMap { task in
                guard let reviewer = task.decidedBy, let closed = task.closedAt, let outcome = task.outcome else { return nil }
                return .init(reviewer: reviewer, program: task.program, outcome: outcome, openedAt: task.createdAt, decidedAt: closed, dueAt: task.dueAt)
            }
    }

    /// Appeals upheld in `[from, to)`: whose decision each overturned, in which program.
    func overturns(from: Date, to: Date) async throws -> [ReviewFigures.Overturn] {
        let upheld = try await CaseAppealRecord.query(on: db).filter(\.$outcome == "upheld")
            .filter(\.$decidedAt >= from).filter(\.$decidedAt < to).all()
        let appealed = try await CaseRecord.query(on: db).filter(\.$id ~~ Array(Set(upheld.map(\.caseID)))).all()
        let programOf = Dictionary(appealed.compactMap { record in record.id.map { ($0, record.program) } }, uniquingKeysWith: { a, _ in a })
        return upheld.map { .init(reviewer: $0.contestedBy, program: programOf[$0.caseID] ?? "") }
    }
}
