import Foundation
import ShimingCore
import SQLKit
import Testing
@testable import ShimingServer

@Suite("A case read in one statement")
struct CaseReadTests {
    @Test("the one-statement read gives exactly what the three separate reads give: the case, its documents and its history, timestamps to the microsecond")
    func sameAsSeparateReads() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138070")
            shiming.clock.advance(by: 0.314_159_3)  // timestamps with microseconds, and less
            let item = try await shiming.seniorCase(token, name: "周桂兰", number: adultFemale, gender: "male")
            let store = Store(shiming.db, context: shiming.app.shiming)

            // A new case with its three documents: its creation in the history (no state before it).
            let fresh = try #require(try await store.cases.whole(item.id, documents: CaseService.documentPurpose))
            #expect(fresh.documents.count == 3)
            #expect(fresh.history.count == 1 && fresh.history[0].from == nil)

            try await shiming.addDocument(token, item.id, kind: "id_front")
            shiming.clock.advance(by: 0.000_123)
            try await shiming.addDocument(token, item.id, kind: "id_back")
            #expect(try await shiming.submitCase(token, item.id)?.state == "returned")

            let whole = try #require(try await store.cases.whole(item.id, documents: CaseService.documentPurpose))
            let found = try #require(try await store.cases.find(item.id))
            #expect(whole.0 == found)
            let documents = try await store.files(of: [item.id], purpose: CaseService.documentPurpose)
            #expect(documents.count == 5)
            #expect(whole.documents == documents)
            let history = try await store.cases.history(of: [item.id])[item.id] ?? []
            #expect(history.count >= 2)
            #expect(whole.history == history)

            // The case row itself as a JSON row (the verification query reads verified cases so):
            // checks and decision, set and unset timestamps, all as the engine's own row.
            let engine = SQLEngine.of(shiming.db)
            let aggregate = JSONRows.aggregate(CaseStore.columnNames, dates: CaseStore.dateColumns, from: "cases WHERE id = \(bind: item.id)",
                                               order: "id", engine: engine)
            let text: String = try #require(try await shiming.db.sql().raw("SELECT \(aggregate) AS j").first()).value("j")
            let rows = try JSONRows.rows(text, dates: CaseStore.dateColumns, engine: engine)
            #expect(rows.count == 1)
            #expect(try rows.map { try CaseStore.value(row: $0) } == [found])
            #expect(found.checks != nil && found.submittedAt != nil && found.verifiedAt == nil)

            // The read a move starts from: the case and its next history number, in one statement.
            let (locked, next) = try await store.cases.lockedForMoves(item.id, version: found.version)
            #expect(locked == found)
            #expect(try await store.cases.nextSeq(item.id) == next)
            await #expect(throws: CaseErrors.changed) { try await store.cases.lockedForMoves(item.id, version: found.version - 1) }
            await #expect(throws: CommonErrors.notFound) { try await store.cases.lockedForMoves(UUID(), version: 1) }

            // Another purpose's files are not documents; an unknown case is nil.
            #expect(try await store.cases.whole(item.id, documents: "change_request_proof")?.documents.isEmpty == true)
            #expect(try await store.cases.whole(UUID(), documents: CaseService.documentPurpose) == nil)
        }
    }

    @Test("a submission's one read gives what the three reads it replaces give: the case and its next number, the application limit's count and oldest, the duplicate check for the stored number, held or not")
    func submissionReadsAsSeparateReads() async throws {
        try await withShiming { shiming in
            let store = Store(shiming.db, context: shiming.app.shiming)
            let (_, first) = try await shiming.activeApplicant(phone: "13800138090")
            let a = try await shiming.seniorCase(first, name: "周桂兰", number: adultFemale, gender: "male")
            try await shiming.addDocument(first, a.id, kind: "id_front")
            try await shiming.addDocument(first, a.id, kind: "id_back")
            shiming.clock.advance(by: 60)
            #expect(try await shiming.submitCase(first, a.id)?.state == "returned")
            let (_, second) = try await shiming.activeApplicant(phone: "13800138091")
            let b = try await shiming.seniorCase(second, name: "周桂兰", number: adultFemale)
            let since = shiming.clock.now().addingTimeInterval(-30 * 24 * 3600)

            func same(_ id: UUID) async throws -> CaseStore.SubmissionReads {
                let found = try #require(try await store.cases.find(id))
                let reads = try await store.cases.lockedForSubmission(id, version: found.version, account: found.accountID, program: found.program, since: since)
                let (locked, next) = try await store.cases.lockedForMoves(id, version: found.version)
                #expect(reads.record == locked && reads.nextSeq == next)
                let recent = try await store.cases.firstSubmissions(account: found.accountID, program: found.program, since: since)
                #expect(reads.recentCount == recent.count && reads.oldestRecent == recent.first)
                let index = try #require(found.numberIndex)
                let held = try await store.cases.numberHeldByOthers(IndexProbe(stored: index, accepted: [index]), account: found.accountID)
                #expect(reads.storedNumberHeldByOthers == held)
                return reads
            }
            // The returned case counts one first submission and holds no identity.
            let submitted = try await same(a.id)
            #expect(submitted.recentCount == 1 && submitted.oldestRecent != nil)
            #expect(try await same(b.id).storedNumberHeldByOthers == false)
            // Waiting for review, it holds the number against the other account's case.
            var found = try #require(try await store.cases.find(a.id))
            found.state = .needsReview
            let waiting = try await store.transaction { [found] tx in
                var item = found
                try await tx.cases.save(&item, at: shiming.clock.now())
                return item
            }
            let other = try await same(b.id)
            #expect(other.storedNumberHeldByOthers && other.recentCount == 0 && other.oldestRecent == nil)
            #expect(try await same(a.id).storedNumberHeldByOthers == false)  // its own account's case is not another's
            // Without an application limit nothing counts; a changed version or an unknown case is refused.
            let unlimited = try await store.cases.lockedForSubmission(a.id, version: waiting.version, account: waiting.accountID, program: waiting.program, since: nil)
            #expect(unlimited.recentCount == 0 && unlimited.oldestRecent == nil)
            await #expect(throws: CaseErrors.changed) {
                try await store.cases.lockedForSubmission(a.id, version: waiting.version - 1, account: waiting.accountID, program: waiting.program, since: since)
            }
            await #expect(throws: CommonErrors.notFound) {
                try await store.cases.lockedForSubmission(UUID(), version: 1, account: waiting.accountID, program: waiting.program, since: since)
            }
        }
    }

    @Test("a submission's read takes the look-up's allowances as `LimitStore.take` does: in turn, the first without room answered and the ones after it not counted; an unknown case's transaction counts nothing")
    func submissionReadTakesAllowances() async throws {
        try await withShiming { shiming in
            let store = Store(shiming.db, context: shiming.app.shiming)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138092")
            let item = try await shiming.seniorCase(token, name: "周桂兰", number: adultFemale)
            let found = try #require(try await store.cases.find(item.id))
            let now = shiming.clock.now()
            let three = [("probe:a", Allowance(cap: 2, window: 3600)), ("probe:b", Allowance(cap: 1, window: 3600)), ("probe:c", Allowance(cap: 2, window: 3600))]
            func counts() async throws -> [String: Int] {
                let rows = try await shiming.db.sql().raw("SELECT key, count FROM limit_windows WHERE key LIKE 'probe:%'").all()
                return Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode(column: "key", as: String.self), try $0.decode(column: "count", as: Int.self)) })
            }
            func read(_ id: UUID) async throws -> CaseStore.SubmissionReads {
                try await store.transaction { tx in
                    try await tx.cases.lockedForSubmission(id, version: found.version, account: found.accountID, program: found.program,
                                                           since: nil, taking: (three, now))
                }
            }
            let first = try await read(item.id)
            #expect(first.untaken == nil && first.record.id == item.id)
            #expect(try await counts() == ["probe:a": 1, "probe:b": 1, "probe:c": 1])
            // b has no room left: a is counted, b and c are not; the case is read all the same.
            let second = try await read(item.id)
            #expect(second.untaken == 1 && second.record.id == item.id)
            #expect(try await counts() == ["probe:a": 2, "probe:b": 1, "probe:c": 1])
            #expect(try await read(item.id).untaken == 0)
            // Nothing given, nothing taken.
            let none = try await store.cases.lockedForSubmission(item.id, version: found.version, account: found.accountID, program: found.program, since: nil)
            #expect(none.untaken == nil)
            // An unknown case fails the read, and its transaction's rollback undoes the taking.
            let later = now.addingTimeInterval(3601)
            await #expect(throws: CommonErrors.notFound) {
                try await store.transaction { tx in
                    try await tx.cases.lockedForSubmission(UUID(), version: 1, account: found.accountID, program: found.program,
                                                           since: nil, taking: (three, later))
                }
            }
            #expect(try await counts() == ["probe:a": 2, "probe:b": 1, "probe:c": 1])
        }
    }

    @Test("whole cases read at once are read together on PostgreSQL: with the first read held, 7 reads (two of one case, one unknown) in the batches held with it (up to 3 at once) and one more, each answered its own case as a read alone gives it")
    func readsInBatches() async throws {
        try await withShiming { shiming in
            let store = Store(shiming.db, context: shiming.app.shiming)
            var ids: [UUID] = []
            for (n, number) in [adultFemale, adultMale, residentID(birth: "19700101", sequence: "113")].enumerated() {
                let (_, token) = try await shiming.activeApplicant(phone: "1380013808\(n)")
                ids.append(try await shiming.seniorCase(token, name: "周桂兰", number: number).id)
            }
            let reads = [ids[0], ids[1], ids[2], UUID(), ids[1], ids[0], ids[2]]
            // What each read alone gives: inside a transaction, which never batches.
            var alone: [UUID: CaseStore.Whole] = [:]
            for id in ids {
                let read = try await store.transaction { tx in try await tx.cases.whole(id, documents: CaseService.documentPurpose) }
                #expect(read != nil)
                alone[id] = read
            }
            let batcher = shiming.app.shiming.reads.cases
            let before = batcher.batches
            let postgres = SQLEngine.of(shiming.db) == .postgres
            let (found, batches) = try await shiming.heldReads("cases", batcher: batcher, reads.map { id in
                { @Sendable in try await store.cases.whole(id, documents: CaseService.documentPurpose) }
            })
            for (n, id) in reads.enumerated() {
                let whole = found[n]
                if let expected = alone[id] {
                    guard let read = whole else {
                        Issue.record("read \(n): no case")
                        continue
                    }
                    #expect(read.0 == expected.0 && read.documents == expected.documents && read.history == expected.history, "read \(n)")
                    #expect(read.documents.count == 3 && read.history.count == 1, "read \(n)")
                } else {
                    #expect(whole == nil, "read \(n): an unknown case")
                }
            }
            // SQLite reads in-process and never batches.
            #expect(batcher.batches - before == batches)
            #expect(postgres ? (2...ReadBatches.concurrent + 1).contains(batches) : batches == 0, "\(batches) batches")
            #expect(batcher.waiting == 0)
        }
    }

    @Test("on PostgreSQL the whole case read is kept prepared, and planned afresh once the writes have doubled: a plan made while the tables were small would go on reading them whole after they grew")
    func wholeReadPlannedAsDataGrows() async throws {
        try await withShiming { shiming in
            guard SQLEngine.of(shiming.db) == .postgres else { return }
            let (_, token) = try await shiming.activeApplicant(phone: "13800138075")
            let item = try await shiming.seniorCase(token, name: "周桂兰", number: adultFemale)
            let context = shiming.app.shiming
            // On one connection throughout: the whole reads' statements prepared on it, by name.
            try await shiming.db.withConnection { db in
                let store = Store(db, context: context)
                func kept() async throws -> Set<String> {
                    Set(try await db.sql().raw("SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE 'SELECT 0 AS part, id, account_id%FROM cases%'")
                        .all().filter { try $0.decode(column: "statement", as: String.self).contains("file_created_at") }
                        .map { try $0.decode(column: "name", as: String.self) })
                }
                try await context.writeGate.writeUntilJustDoubled(on: shiming.db)
                let growth = context.writeGate.growth
                let before = try await kept()  // the connection may have served the requests above
                for _ in 0..<3 {
                    #expect(try await store.cases.whole(item.id, documents: CaseService.documentPurpose)?.0.id == item.id)
                    #expect(try await store.cases.find(item.id)?.id == item.id)
                }
                // Kept: one statement, prepared once on the connection.
                let first = try await kept().subtracting(before)
                #expect(first.count == 1, "\(first)")
                // Writes (on the writer's connection) until their count has doubled: the next read
                // is planned afresh, as a statement of its own.
                while context.writeGate.growth == growth {
                    try await context.writeGate.transaction(on: shiming.db) { _ in }
                }
                #expect(try await store.cases.whole(item.id, documents: CaseService.documentPurpose)?.0.id == item.id)
                let second = try await kept().subtracting(before)
                #expect(second.count == 2 && second.isSuperset(of: first), "\(first) \(second)")
            }
        }
    }

    @Test("child rows read back from JSON: nulls, numbers, text, identifiers, and each engine's timestamps as its driver reads them")
    func jsonRows() throws {
        let sqlite = try JSONRows.rows("""
            [{"id":"6F2C0A9E-6C39-4E3B-9A51-0D6A3E2B7C11","size":42,"kind":null,"at":"1796244592.541140","ok":1}]
            """, dates: ["at"], engine: .sqlite)
        let row = try #require(sqlite.first)
        let id: UUID = try row.value("id")
        #expect(id == UUID(uuidString: "6f2c0a9e-6c39-4e3b-9a51-0d6a3e2b7c11"))
        #expect(try row.value("size") as Int == 42)
        #expect(try row.value("kind") as String? == nil)
        #expect(try row.value("ok") as Bool)
        let at: Date = try row.value("at")
        #expect(abs(at.timeIntervalSince1970 - 1_796_244_592.541140) < 0.000_001)
        #expect(try row.value("at") as Date? == at)
        #expect(throws: DecodingError.self) { try row.value("size") as String }
        #expect(throws: DecodingError.self) { try row.value("kind") as Int }

        // PostgreSQL: microseconds since 2000-01-01.
        let postgres = try JSONRows.rows(#"[{"at":849559792541140}]"#, dates: ["at"], engine: .postgres)
        let postgresAt: Date = try #require(postgres.first).value("at")
        #expect(abs(postgresAt.timeIntervalSince1970 - 1_796_244_592.541140) < 0.000_001)
        #expect(try JSONRows.rows("[]", dates: [], engine: .postgres).isEmpty)
    }
}
