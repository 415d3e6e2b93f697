import Fluent
import Foundation
import SQLKit
import ShimingCore
import Testing
@testable import ShimingServer

@Suite("Query plans")
struct QueryPlanTests {
    /// The plan's text, one line per step, on either engine (on PostgreSQL with sequential
    /// scans discouraged: its tables are tiny in a test, where reading them whole would win).
    private func plan(of query: String, on db: any Database) async throws -> String {
        try await db.transaction { tx in
            let sql = try tx.sql()
            if TestEngine.postgresURL == nil {
                return try await sql.raw("EXPLAIN QUERY PLAN \(unsafeRaw: query)").all().map { try $0.decode(column: "detail", as: String.self) }
                    .joined(separator: "\n")
            }
            try await sql.raw("SET LOCAL enable_seqscan = off").run()
            return try await sql.raw("EXPLAIN \(unsafeRaw: query)").all().map { try $0.decode(column: "QUERY PLAN", as: String.self) }
                .joined(separator: "\n")
        }
    }

    @Test("staff are found by kind and status through an index, not by reading every account (teachers when a case goes to review, supervisors, reviewers on duty)")
    func staffLookup() async throws {
        try await withShiming { shiming in
            let found = try await plan(of: "SELECT id FROM accounts WHERE kind = 'staff' AND status = 'active' AND roles LIKE '%teacher%'", on: shiming.db)
            #expect(found.contains("accounts_kind_status"), "\(found)")
        }
    }

    @Test("a person's cases in one state are found by account, not by reading every case in that state (drafts before a new one, verifications for a platform's query)",
          arguments: [
              "SELECT COUNT(*) AS n FROM cases WHERE account_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff' AND state = 'draft'",
              "SELECT id FROM cases WHERE account_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff' AND state = 'verified' ORDER BY verified_at",
              "SELECT id FROM cases WHERE account_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff' AND program <> 'p' AND state = 'verified' ORDER BY verified_at DESC LIMIT 1",
          ])
    func casesByAccountAndState(query: String) async throws {
        try await withShiming { shiming in
            let found = try await plan(of: query, on: shiming.db)
            #expect(found.contains("cases_account"), "\(found)")
            #expect(!found.contains("cases_expiry") && !found.contains("cases_state"), "\(found)")
        }
    }

    @Test("the application limit counts an account's first submissions through an index that holds only those")
    func firstSubmissions() async throws {
        try await withShiming { shiming in
            let found = try await plan(of: """
                SELECT at FROM case_transitions WHERE account_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff' AND program = 'education-card'
                AND action = 'submit' AND from_state = 'draft' AND at > '2026-01-01' ORDER BY at
                """, on: shiming.db)
            #expect(found.contains("case_transitions_first_submissions"), "\(found)")
            // The names the index's condition spells.
            #expect(CaseAction.submit.name == "submit" && CaseState.draft.rawValue == "draft")
        }
    }

    @Test("an upload adds up its owner's files through an index, not by reading every stored file (the storage allowance)")
    func storedBytesOfOwner() async throws {
        try await withShiming { shiming in
            let found = try await plan(of: "SELECT SUM(size) FROM stored_files WHERE owner_id = '6f9619ff-8b86-d011-b42d-00c04fc964ff'", on: shiming.db)
            #expect(found.contains("stored_files_owner"), "\(found)")
        }
    }

    @Test("the erasure sweep finds the accounts whose deletion is due, and those erased lately, through indexes that hold only those, not by reading every account",
          arguments: [
              ("SELECT id FROM accounts WHERE deletion_due_at IS NOT NULL AND deletion_due_at <= '2026-12-01' AND erased_at IS NULL ORDER BY deletion_due_at LIMIT 100",
               "accounts_deletion_due"),
              ("SELECT id FROM accounts WHERE erased_at IS NOT NULL AND erased_at >= '2026-11-24'", "accounts_erased"),
          ])
    func erasureSweep(query: String, index: String) async throws {
        try await withShiming { shiming in
            let found = try await plan(of: query, on: shiming.db)
            #expect(found.contains(index), "\(found)")
        }
    }
}
