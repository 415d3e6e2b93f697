import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Storage limitation (issue 15, PIPL art. 19): the retention sweep deletes exactly what
/// `retention report` lists, keeps what must stay, and runs once a day. Both engines.
@Suite("Retention")
struct RetentionTests {
    static let day: TimeInterval = 86_400

    /// The sealed files in the data dir.
    static func storedFiles(_ shiming: TestShiming) -> Int {
        let root = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("files")
        let walker = FileManager.default.enumerator(atPath: root)
        var count = 0
        while let path = walker?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: (root as NSString).appendingPathComponent(path), isDirectory: &isDirectory), !isDirectory.boolValue { count += 1 }
        }
        return count
    }

    /// The plan for one program, as ids.
    func due(_ shiming: TestShiming, _ program: String = "senior-personal") async throws -> (documents: [UUID], files: [UUID], shred: [UUID]) {
        let plan = try #require(try await shiming.app.features.retention.plan(at: shiming.clock.now()).first { $0.program == program })
        return (plan.documents.map(\.due.caseID), plan.documents.flatMap(\.files), plan.shred.map(\.caseID))
    }

    @Test("the sweep deletes exactly what the report listed: rejected and abandoned applications after 90 days, documents 180 days after the decision, expired verifications after 3 years; the fact and the audit chain stay")
    func sweepDoesWhatTheReportSays() async throws {
        try await withShiming { shiming in
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.retention")
            let (_, verifiedToken) = try await shiming.activeApplicant(phone: "13800138410")
            let verified = try await shiming.seniorCase(verifiedToken, name: "赵秀英", number: adultFemale)
            #expect(try await shiming.submitCase(verifiedToken, verified.id)?.state == "needs_review")
            #expect(try await shiming.decide(verified.id, staff: reviewer, "approve").state == "verified")
            let (_, rejectedToken) = try await shiming.activeApplicant(phone: "13800138411")
            let rejected = try await shiming.seniorCase(rejectedToken, name: "钱芳", number: adultMale, gender: "male")
            #expect(try await shiming.submitCase(rejectedToken, rejected.id)?.state == "needs_review")
            #expect(try await shiming.decide(rejected.id, staff: reviewer, "reject", reasons: ["suspected_fraud"], note: "号码与照片不符").state == "rejected")
            let (_, draftToken) = try await shiming.activeApplicant(phone: "13800138412")
            let draft = try await shiming.createCase(draftToken, ["program": "senior-personal",
                                                                  "identity": ["name": "孙丽", "documentType": "resident",
                                                                               "documentNumber": residentID(birth: "19520303", sequence: "226")]])
            try await shiming.addDocument(draftToken, draft.id, kind: "id_front")
            #expect(Self.storedFiles(shiming) == 3 + 3 + 1)

            // Nothing is due on the first day.
            let first = try await due(shiming)
            #expect(first.documents.isEmpty && first.shred.isEmpty)

            // 91 days on: the rejected application and the abandoned draft.
            shiming.clock.advance(by: 91 * Self.day)
            let second = try await due(shiming)
            #expect(Set(second.shred) == [rejected.id, draft.id])
            #expect(second.documents.isEmpty)
            let lines = RetentionReport.lines(try await shiming.app.features.retention.plan(at: shiming.clock.now()))
            #expect(lines.contains("    shred \(rejected.id.uuidString.lowercased()) (rejected)"))
            let swept = try await shiming.app.features.retention.sweep()
            #expect(Set(swept.shredded) == Set(second.shred) && swept.documentCases.isEmpty)
            #expect(Self.storedFiles(shiming) == 3, "the shredded applications' documents are gone")
            // (Sessions do not last months: sign in again.)
            let after = try await shiming.getCase(try await shiming.signIn("13800138411"), rejected.id)
            #expect(after.state == "rejected", "the fact stays")
            #expect(after.identity.name == nil && after.identity.documentNumber == nil && after.documents.isEmpty)
            let row = try #require(try await CaseRecord.find(rejected.id, on: shiming.db))
            #expect(row.numberIndex == nil && !(row.decisionJSON ?? "").contains("noteSealed"))
            #expect(try await due(shiming).shred.isEmpty, "shredded once")

            // 181 days after the decision: the verified application's documents; it stays verified.
            shiming.clock.advance(by: 90 * Self.day)
            let third = try await due(shiming)
            #expect(third.documents == [verified.id] && third.files.count == 3 && third.shred.isEmpty)
            let swept3 = try await shiming.app.features.retention.sweep()
            #expect(swept3.documentCases == third.documents && Set(swept3.files) == Set(third.files) && swept3.shredded.isEmpty)
            #expect(Self.storedFiles(shiming) == 0)
            let kept = try await shiming.getCase(try await shiming.signIn("13800138410"), verified.id)
            #expect(kept.state == "verified" && kept.documents.isEmpty && kept.identity.name != nil)

            // The verification runs out after 12 months; its data goes 3 years later.
            shiming.clock.advance(by: 190 * Self.day)
            _ = try await shiming.app.features.cases.sweep()
            #expect(try await shiming.getCase(try await shiming.signIn("13800138410"), verified.id).state == "expired")
            shiming.clock.advance(by: 3 * 365 * Self.day - 10 * Self.day)
            #expect(try await due(shiming).shred.isEmpty)
            shiming.clock.advance(by: 20 * Self.day)
            let fourth = try await due(shiming)
            #expect(fourth.shred == [verified.id])
            #expect(try await shiming.app.features.retention.sweep().shredded == [verified.id])
            #expect(try await shiming.getCase(try await shiming.signIn("13800138410"), verified.id).identity.name == nil)

            let events = try await AuditEventRecord.query(on: shiming.db).filter(\.$action ~~ ["retention.shredded", "retention.documents_deleted"]).all()
            #expect(events.count == 3, "one event per batch")
            guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("the audit chain does not verify")
                return
            }
        }
    }

    @Test("the sweep takes one turn a day, whichever instance asks first")
    func oncePerDay() async throws {
        try await withShiming { shiming in
            let retention = shiming.app.features.retention
            var turns: [Bool] = []
            turns.append(try await retention.takeDailyTurn())
            turns.append(try await retention.takeDailyTurn())
            shiming.clock.advance(by: 23 * 3600)
            turns.append(try await retention.takeDailyTurn())
            shiming.clock.advance(by: 2 * 3600)
            turns.append(try await retention.takeDailyTurn())
            #expect(turns == [true, false, false, true])
        }
    }

    @Test("a program's retention is read from YAML in days, months or years, and refused when out of range")
    func programRetention() throws {
        let program = try ProgramLoader.parse(yaml: ProgramPresets.seniorPersonal + "\nretention: {documents: 30d, afterRejection: 2m, caseData: 1y}\n", file: "p.yaml")
        #expect(program.retention == Program.Retention(documents: 30, afterRejection: 60, caseData: 365))
        #expect(try ProgramLoader.parse(yaml: ProgramPresets.seniorPersonal, file: "p.yaml").retention == Program.Retention())
        #expect(throws: ProgramFileError.self) {
            try ProgramLoader.parse(yaml: ProgramPresets.seniorPersonal + "\nretention: {documents: soon}\n", file: "p.yaml")
        }
        var long = try ProgramLoader.parse(yaml: ProgramPresets.seniorPersonal, file: "p.yaml")
        long.retention.caseData = 31 * 365
        #expect(long.problems().contains { $0.field == "retention.caseData" })
    }
}
