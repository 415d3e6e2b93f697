import Crypto
import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Rotating the blind-index key (issue 15): `keys reindex` recomputes every stored index from
/// its sealed value while lookups accept the old and the new index, then drops the old key.
/// Both engines.
@Suite("Blind-index key rotation")
struct ReindexTests {
    @Test("keys reindex: a new index key at once, lookups find old and new rows during the walk, every stored index becomes the new key's in batches, counters and identity codes follow, old codes end, and the old key leaves the file")
    func reindex() async throws {
        try await withShimingKeyFile { shiming, keyPath in
            let admin = try await shiming.staff([.admin], username: "admin.reindex", email: "admin.reindex@example.cn")
            let (a, b) = (residentID(birth: "20120101", sequence: "011"), residentID(birth: "20120202", sequence: "022"))
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n王一,\(a),第一中学,初一,1班,2025\n李二,\(b),第一中学,初一,1班,2025\n",
                                               admin: admin)
            let (personID, token) = try await shiming.activeApplicant(phone: "13800138650")
            let number = residentID(birth: "19630303", sequence: "262")
            let item = try await shiming.seniorCase(token, name: "陈桂芳", number: number)
            // A student registered with a guardian's phone, and a code asked for (counted per phone).
            _ = try #require(try await shiming.registerAccount(username: "xiaoming.reindex", guardianPhone: "13800138651"))
            shiming.clock.advance(by: 61)  // past the pause between two codes to one phone
            #expect(try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138650", "purpose": "reset_password"]).status == .accepted)
            let cases = shiming.app.features.cases
            let store = Store(shiming.db, context: shiming.app.shiming)
            let stored = try #require(try await store.cases.find(item.id))
            let identityCode = try await store.transaction { tx in
                try await cases.identityCode(for: try #require(try cases.numberProbe(of: stored)), account: personID, at: shiming.clock.now(), in: tx)
            }
            let blind = shiming.app.shiming.blindIndex
            let before = (phone: blind.phone("13800138650").stored, number: blind.index(number, domain: CaseService.numberDomain).stored)
            let rollBefore = [a, b].map { blind.index($0, domain: CaseService.numberDomain).stored }
            #expect(try await store.roster.count(holding: rollBefore) == 2)
            let window = { (key: String) in try await shiming.db.sql().raw("SELECT count FROM limit_windows WHERE key = \(bind: key)").first()?
                .decode(column: "count", as: Int.self) }
            let sendsBefore = try #require(try await window("code:to:" + before.phone))
            let oldKeyLine = try String(contentsOfFile: keyPath, encoding: .utf8)
            // A second server on the same data, started before the re-index.
            let second = try await Application.make(.testing)
            try await configure(second, configuration: shiming.configuration, services: Services(clock: shiming.clock))
            #expect(!second.shiming.blindIndex.isReindexing)

            // Begin: the new key is current at once, the old one kept as the previous.
            let reindex = shiming.app.features.reindex
            let begun = shiming.clock.now()
            try await reindex.begin()
            await #expect(throws: UserFacingError.self, "a second begin is refused while one runs") { try await reindex.begin() }
            #expect(blind.isReindexing && blind.phone("13800138650").stored != before.phone)
            #expect(blind.phone("13800138650").accepted.contains(before.phone))
            let text = try String(contentsOfFile: keyPath, encoding: .utf8)
            #expect(text.contains("previous blind-index ") && text != oldKeyLine)
            // The second server follows the file within a second.
            try await Task.sleep(for: .milliseconds(1100))
            #expect(second.shiming.blindIndex.isReindexing)
            #expect(second.shiming.blindIndex.phone("13800138650") == blind.phone("13800138650"))
            try await second.asyncShutdown()

            // During the walk: rows under the old index are found, new rows get the new one.
            shiming.clock.advance(by: 61)
            _ = try await shiming.signIn("13800138650")
            try await shiming.registerAccount(phone: "13800138650", expect: .conflict)
            let (_, newcomer) = try await shiming.activeApplicant(phone: "13800138652")
            #expect(try await store.roster.lines(numberIndex: blind.index(a, domain: CaseService.numberDomain)).map(\.name) == ["王一"])
            #expect(try await store.cases.identityCode(numberIndex: blind.index(number, domain: CaseService.numberDomain)) == identityCode)
            let twin = try await shiming.seniorCase(newcomer, name: "陈桂芳", number: number)
            #expect(try await store.cases.withNumber(blind.index(number, domain: CaseService.numberDomain)).count == 2, "old and new index alike")

            // The walk, a row per batch.
            var batches = 0
            var passes = Set<Int>()
            let total = try await reindex.run(limit: 1) { pass, _, _ in
                batches += 1
                passes.insert(pass)
            }
            #expect(passes == [1, 2], "the second pass finds nothing left")
            // Accounts: the admin's e-mail, the applicant's phone, the student's guardian phone;
            // the first case (the twin was written with the new key); two roster lines.
            #expect(total.replaced == 6 && total.kept == 0 && total.unreadable == 0, "\(total)")
            #expect(batches >= 6)
            #expect(total.codesEnded >= 3, "the registration codes and the reset code, sent before the switch")
            #expect(!reindex.isRunning && !blind.isReindexing)
            let after = try String(contentsOfFile: keyPath, encoding: .utf8)
            #expect(!after.contains("previous blind-index"))
            #expect(!after.contains(text.split(separator: "\n").first { $0.hasPrefix("previous blind-index ") }!.split(separator: " ")[2]),
                    "the old index key is in no file")

            // Every stored index is now the new key's index of its value.
            let programs = shiming.app.shiming.programs
            for column in IndexedColumn.all {
                let rows = try await store.reindex.rows(column, after: nil, limit: 1000)
                for row in rows {
                    let value = try #require(ReindexService.value(of: row, in: column, programs: programs, today: cases.today), "\(column.name)")
                    #expect(row.index == blind.indexer(domain: column.domain).index(value), "\(column.name)")
                }
                #expect(try await store.reindex.count(column, holding: [before.phone, before.number]) == 0, "\(column.name)")
            }
            // The roll's lines too, each sealed again for its new index.
            let lines = try await store.roster.stored(after: nil, limit: 100)
            #expect(lines.count == 2)
            for line in lines {
                let fields = try shiming.app.shiming.cipher.openBinary(line.data, authenticating: line.context)
                let number = try #require(RosterLine(packed: fields, school: line.school)).number
                #expect(line.index == blind.indexer(domain: CaseService.numberDomain).shortIndex(number))
            }
            #expect(try await store.roster.count(holding: rollBefore) == 0)
            // Counted and issued things followed their index; everything is found as before.
            #expect(try await window("code:to:" + before.phone) == nil)
            #expect(try await window("code:to:" + blind.phone("13800138650").stored) == sendsBefore + 1,
                    "the window under the old index joined the one the second registration began under the new")
            #expect(try await store.cases.identityCode(numberIndex: blind.index(number, domain: CaseService.numberDomain)) == identityCode)
            #expect(try await store.roster.lines(numberIndex: blind.index(b, domain: CaseService.numberDomain)).map(\.name) == ["李二"])
            // (In steps: as one expression it once took the type checker past its limit.)
            let holders: [UUID] = try await store.cases.withNumber(blind.index(number, domain: CaseService.numberDomain)).map(\.id)
            let expected: [UUID] = [item.id, twin.id]
            #expect(holders.sorted { $0.uuidString < $1.uuidString } == expected.sorted { $0.uuidString < $1.uuidString })
            _ = try await shiming.signIn("13800138650")
            shiming.clock.advance(by: 61)
            #expect(try await store.accounts.withEmail(blind.email("admin.reindex@example.cn"))?.username == "admin.reindex")
            #expect(try await store.accounts.withGuardianPhone(blind.phone("13800138651"), applicantsOnly: true, newestFirst: true, limit: 5)
                .map(\.username) == ["xiaoming.reindex"])
            try await shiming.registerAccount(phone: "13800138650", expect: .conflict)
            let codes = { (sql: SQLQueryString) in try await shiming.db.sql().raw("SELECT COUNT(*) AS n FROM one_time_codes WHERE \(sql)").first()?
                .decode(column: "n", as: Int.self) }
            #expect(try await codes("created_at < \(bind: begun.addingTimeInterval(ReindexService.settling))") == 0)
            #expect(try await codes("created_at >= \(bind: begun.addingTimeInterval(ReindexService.settling))") == 1, "the newcomer's code, sent after the switch, stays")
            guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("the audit chain does not verify after the re-index")
                return
            }
            #expect(try await reindex.run(limit: 10) == .init(), "nothing to resume")
        }
    }

    @Test("a row a unique index blocks (another account holds the same phone under the new key) keeps the old key in the file until it is resolved")
    func uniqueConflict() async throws {
        try await withShimingKeyFile { shiming, keyPath in
            let (first, _) = try await shiming.activeApplicant(phone: "13800138660")
            let (second, _) = try await shiming.activeApplicant(phone: "13800138661")
            let reindex = shiming.app.features.reindex, blind = shiming.app.shiming.blindIndex
            try await reindex.begin()
            // As if the second account had taken the first one's phone in a race with the check.
            try await shiming.db.sql().raw("UPDATE accounts SET phone_index = \(bind: blind.phone("13800138660").stored) WHERE id = \(bind: second)").run()
            await #expect { _ = try await reindex.run(limit: 10) } throws: { error in
                (error as? UserFacingError)?.code == "reindex_incomplete" && (error as? UserFacingError)?.message.en.hasPrefix("1 rows") == true
            }
            let text = try String(contentsOfFile: keyPath, encoding: .utf8)
            #expect(reindex.isRunning && text.contains("previous blind-index "))
            let store = Store(shiming.db, context: shiming.app.shiming)
            #expect(try await store.accounts.withPhone(blind.phone("13800138661")) == nil)
            try await shiming.db.sql().raw("UPDATE accounts SET phone_index = \(bind: blind.phone("13800138661").stored) WHERE id = \(bind: second)").run()
            let total = try await reindex.run(limit: 10)
            #expect(total.replaced == 1 && total.kept == 0 && !reindex.isRunning)
            #expect(try await store.accounts.withPhone(blind.phone("13800138660"))?.id == first)
            #expect(try await store.accounts.withPhone(blind.phone("13800138661"))?.id == second)
        }
    }

    @Test("keys reindex needs the key in a file; the key file keeps the previous index key while one runs")
    func needsFile() async throws {
        try await withShiming { shiming in
            await #expect(throws: UserFacingError.self) { try await shiming.app.features.reindex.begin() }
        } as Void
        var file = try KeyFile.parse(testEncryptionKey, origin: "test.key")
        file.previousIndex = file.pinned[.blindIndex]
        file.pinned[.blindIndex] = SymmetricKey(size: .bits256)
        let read = try KeyFile.parse(file.text(), origin: "test.key")
        #expect(read == file && read.previousIndex != nil)
        let index = BlindIndex(masters: MasterKeys(read, path: nil))
        #expect(index.isReindexing && index.phone("13800138000").accepted.count == 2)
        #expect(index.phone("13800138000").accepted[1] == BlindIndex(keyRing: KeyRing(masterKey: SymmetricKey(data: Data(base64Encoded: testEncryptionKey)!))).phone("13800138000").stored)
    }
}
