import Foundation
import NIOConcurrencyHelpers
import SQLKit
import Testing
@testable import ShimingServer

/// Submissions that commit in one group (`GroupCommit`): on PostgreSQL each one's writes go with
/// the next one's read where they name different rows (`WriteGate.transaction(footprint:)`).
@Suite("Submissions in one write group")
struct SubmissionGroupTests {
    /// Submits `cases` (token, case) at once while the write gate is held, so that their
    /// transactions queue and commit together; answers each answer's text, in order, after
    /// checking that a read right after it answers the same.
    private func submitTogether(_ cases: [(String, UUID)], on shiming: TestShiming) async throws -> [String] {
        let gate = shiming.app.shiming.writeGate
        let before = gate.commits
        let holding = NIOLockedValueBox(false)
        let holder = Task {
            try await gate.transaction(on: shiming.db) { _ in
                holding.withLockedValue { $0 = true }
                try await waitUntil { gate.waiting >= cases.count }
            }
        }
        try await waitUntil { holding.withLockedValue { $0 } }
        let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for (index, (token, id)) in cases.enumerated() {
                group.addTask {
                    let response = try await shiming.send(.POST, "/api/v1/cases/\(id)/submit", headers: shiming.bearer(token))
                    #expect(response.status == .ok, "\(response.text)")
                    return (index, response.text)
                }
            }
            return try await group.reduce(into: [Int: String]()) { $0[$1.0] = $1.1 }
        }
        try await holder.value
        #expect(gate.commits - before == 2)  // the holder alone, then the submissions together
        var texts: [String] = []
        for (index, (token, id)) in cases.enumerated() {
            let read = try await shiming.send(.GET, "/api/v1/cases/\(id)", headers: shiming.bearer(token))
            #expect(read.text == answers[index], "submitted: \(answers[index] ?? "")\nread: \(read.text)")
            texts.append(answers[index] ?? "")
        }
        return texts
    }

    @Test("submissions that commit together each answer what a read then answers; on PostgreSQL one's writes went with the next one's read; of two accounts submitting one number together, the second is a duplicate (they name the number, so nothing is handed over between them)")
    func together() async throws {
        try await withShiming { shiming in
            var distinct: [(String, UUID)] = []
            for index in 0..<4 {
                let (_, token) = try await shiming.activeApplicant(phone: "1380013802\(index)")
                let number = residentID(birth: "1950030\(index + 1)", sequence: "21\(2 * index + 1)")  // odd: a man's
                distinct.append((token, try await shiming.seniorCase(token, name: "赵\(["一", "二", "三", "四"][index])", number: number, gender: "male").id))
            }
            let answers = try await submitTogether(distinct, on: shiming)
            let replies = try answers.map { try JSONDecoder().decode(CaseReply.self, from: Data($0.utf8)) }
            #expect(replies.allSatisfy { ["verified", "needs_review"].contains($0.state) && $0.decision?.reasons.isEmpty == true }, "\(answers)")
            if TestEngine.postgresURL != nil {
                let gate = shiming.app.shiming.writeGate
                // The writer's connection keeps each statement it ran: a submission's read that
                // carried the writes of the one before it.
                let carried = try await gate.transaction(on: shiming.db) { tx in
                    try await tx.sql().raw("""
                        SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'WITH d0 AS (%' AND statement LIKE '%AS next_seq%'
                        AND statement LIKE '%UPDATE cases SET%'
                        """).all().map { try $0.decode(column: "statement", as: String.self) }
                }
                #expect(!carried.isEmpty)
            }

            // One number, two accounts, one group.
            let shared = residentID(birth: "19491107", sequence: "231")
            var pair: [(String, UUID)] = []
            for index in 0..<2 {
                let (_, token) = try await shiming.activeApplicant(phone: "1380013803\(index)")
                pair.append((token, try await shiming.seniorCase(token, name: "钱多", number: shared, gender: "male").id))
            }
            let pairAnswers = try await submitTogether(pair, on: shiming)
            let duplicates = try pairAnswers.map { try JSONDecoder().decode(CaseReply.self, from: Data($0.utf8)) }
                .filter { $0.decision?.reasons.contains { $0.code == "duplicate_identity" } == true }
            #expect(duplicates.count == 1, "\(pairAnswers)")
        }
    }
}
