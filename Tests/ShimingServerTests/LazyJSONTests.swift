import Foundation
import ShimingCore
import Testing
@testable import ShimingServer

@Suite("JSON columns decoded when read")
struct LazyJSONTests {
    private let stored = #"[{"check":"document","code":"ok","passed":true}]"#

    @Test("a column read is decoded at its first read, and written back as it was read while unchanged")
    func unchanged() throws {
        var item = StoredCase(id: UUID(), accountID: UUID(), program: "p1", state: .verified, dataSealed: "sealed", confirmationAttempts: 0,
                              createdAt: Date(), updatedAt: Date(), version: 1)
        item.$checks = LazyJSON(columnText: stored)
        item.$decision = LazyJSON(columnText: nil)
        #expect(item.checks == [CheckResult.ok("document")])
        #expect(item.decision == nil)
        #expect(try item.$checks.columnText() == stored)
        #expect(try item.$decision.columnText() == nil)
    }

    @Test("a changed column is written as StoredJSON encodes it; an equal value compares equal whether read or set")
    func changed() throws {
        var item = StoredCase(id: UUID(), accountID: UUID(), program: "p1", state: .verified, dataSealed: "sealed", confirmationAttempts: 0,
                              createdAt: Date(), updatedAt: Date(), version: 1)
        item.$checks = LazyJSON(columnText: stored)
        var copy = item
        copy.checks = [CheckResult.ok("document")]
        #expect(copy == item)
        copy.checks?.append(CheckResult.fix("registry", "not_found", field: nil))
        #expect(copy != item)
        #expect(try copy.$checks.columnText() == StoredJSON.text(copy.checks))
        #expect(item.checks == [CheckResult.ok("document")], "the original keeps its value")
        copy.checks = nil
        #expect(try copy.$checks.columnText() == nil)
    }

    @Test("a column that cannot be decoded reads as nil and is kept as it was when the row is written back unchanged")
    func undecodable() throws {
        var column = LazyJSON<[CheckResult]>(columnText: "{not json")
        #expect(column.wrappedValue == nil)
        #expect(try column.columnText() == "{not json")
        column.wrappedValue = [CheckResult.ok("document")]
        #expect(try column.columnText() == StoredJSON.text([CheckResult.ok("document")]))
    }

    @Test("who decided is read from the column alone while the decision is not decoded, and from the decision once it is or was set in code")
    func decidedBy() throws {
        let decision = CaseDecision(outcome: "approve", rule: "review.decision", reasons: [], decidedBy: "staff-7", decidedAt: Date(timeIntervalSince1970: 1_790_000_000),
                                    noteSealed: nil, reasonTexts: nil)
        var item = StoredCase(id: UUID(), accountID: UUID(), program: "p1", state: .verified, dataSealed: "sealed", confirmationAttempts: 0,
                              createdAt: Date(), updatedAt: Date(), version: 1)
        item.$decision = LazyJSON(columnText: try StoredJSON.text(decision))
        #expect(item.decidedBy == "staff-7")
        #expect(item.decision == decision)
        #expect(item.decidedBy == "staff-7", "from the decoded decision")
        item.decision?.decidedBy = "system"
        #expect(item.decidedBy == "system", "a decision set in code is what is read")
        item.$decision = LazyJSON(columnText: "{not json")
        #expect(item.decidedBy == nil)
        item.$decision = LazyJSON(columnText: nil)
        #expect(item.decidedBy == nil)
    }
}
