import Foundation
import SQLKit
import Testing
@testable import ShimingServer

@Suite("Time-ordered ids of the rows only ever appended: audit events, a case's history, outbox messages")
struct TimeOrderedIDTests {
    /// The milliseconds since 1970 a version 7 UUID begins with.
    static func milliseconds(_ id: UUID) -> UInt64 {
        withUnsafeBytes(of: id.uuid) { bytes in bytes.prefix(6).reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
    }

    static func version(_ id: UUID) -> UInt8 { id.uuid.6 >> 4 }
    static func variant(_ id: UUID) -> UInt8 { id.uuid.8 >> 6 }

    @Test("RFC 9562 version 7: the time's milliseconds first, version 7, variant 10, the rest random")
    func layout() {
        var random = SeededRandom(state: 28)
        var seen = Set<UUID>()
        for _ in 0..<5_000 {
            let milliseconds = UInt64.random(in: 0...UUID.largestMilliseconds, using: &random)
            let id = UUID.timeOrdered(at: Date(timeIntervalSince1970: Double(milliseconds) / 1000 + 0.0004), using: &random)
            #expect(Self.milliseconds(id) == milliseconds)
            #expect(Self.version(id) == 7 && Self.variant(id) == 2)
            seen.insert(id)
        }
        #expect(seen.count == 5_000)
        // Within one millisecond the 74 random bits keep them apart.
        let now = Date(timeIntervalSince1970: 1_796_000_000.123)
        let same = (0..<10_000).map { _ in UUID.timeOrdered(at: now) }
        #expect(Set(same).count == 10_000 && Set(same.map(Self.milliseconds)) == [1_796_000_000_123])
        // Sorted by their text (as the indexes sort them), they follow their times.
        let times = (0..<200).map { Date(timeIntervalSince1970: 1_700_000_000 + Double($0) * 0.37) }
        let texts = times.map { UUID.timeOrdered(at: $0).uuidString }
        #expect(texts.sorted() == texts)
        #expect(Self.milliseconds(UUID.timeOrdered(at: Date(timeIntervalSince1970: -5))) == 0)
        #expect(Self.milliseconds(UUID.timeOrdered(at: Date.distantFuture.addingTimeInterval(1e13))) == UUID.largestMilliseconds)
    }

    @Test("a submission's audit events, history rows and notice carry ids ordered by their time")
    func storedRows() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138077")
            let item = try await shiming.seniorCase(token, name: "周敏", number: adultFemale, gender: "male")
            let returned = try #require(try await shiming.submitCase(token, item.id))
            #expect(returned.state == "returned")
            let sql = try shiming.db.sql()
            for (table, time) in [("audit_events", "occurred_at"), ("case_transitions", "at"), ("outbox_messages", "created_at")] {
                let rows = try await sql.raw("SELECT id, \(unsafeRaw: time) AS t FROM \(unsafeRaw: table)").all()
                #expect(rows.count >= 2, "\(table) holds the submission's rows")
                for row in rows {
                    let id = try row.decode(column: "id", as: UUID.self)
                    let at = try row.decode(column: "t", as: Date.self)
                    #expect(Self.version(id) == 7, "\(table)")
                    // Stored times come back through a Double: within a millisecond of the id's.
                    #expect(abs(Double(Self.milliseconds(id)) - at.timeIntervalSince1970 * 1000) < 1.5, "\(table)")
                }
            }
        }
    }
}
