import Fluent
import Foundation
import SQLKit
import ShimingCore
import Testing
@testable import ShimingServer

@Suite("The verification query's reads kept for a moment")
struct VerificationLookupTests {
    @Test("A query's grant and verification are reused for at most SHIMING_SESSION_CACHE_SECONDS and while no write but the queries' own records has ended on this instance, never when 0; a grant withdrawn behind the instance's back is refused by the next query all the same, and every query is counted and audited")
    func keptForAMoment() async throws {
        let service = FakeIdentityService()
        for seconds in [1, 0] {
            try await withShiming(identityService: service, adjust: { $0.sessionCacheSeconds = seconds }) { shiming in
                let (key, _, subject) = try await shiming.grantedShopper(service, admin: "admin.kept", phone: "13800138091", reference: "kept")
                let (audited, calls) = (try await shiming.queriesAudited(), try await shiming.callsCounted(inEveryWindow: true))
                /// The query's answer (nil: not 200).
                func verified() async throws -> Bool? {
                    let response = try await shiming.query(key, subject)
                    return response.status == .ok ? try response.json(VerificationReply.self).verified : nil
                }
                /// Changes the person's verification as another instance would: not through this one.
                func elsewhere(_ statement: SQLQueryString) async throws {
                    try await shiming.db.sql().raw(statement).run()
                }
                #expect(try await verified() == true)

                // The verification ends elsewhere: seen once the kept read is a lifetime old.
                try await elsewhere("UPDATE cases SET expires_at = \(bind: shiming.clock.now()) WHERE state = 'verified'")
                if seconds > 0 {
                    #expect(try await verified() == true, "reused within its lifetime: the queries' own writes do not end it")
                    #expect(try await verified() == true)
                    shiming.clock.advance(by: TimeInterval(seconds))
                }
                #expect(try await verified() == false)

                // Renewed elsewhere: seen at once after any other write of this instance.
                try await elsewhere("UPDATE cases SET expires_at = \(bind: shiming.clock.now().addingTimeInterval(86_400 * 365)) WHERE state = 'verified'")
                if seconds > 0 {
                    #expect(try await verified() == false, "reused")
                    _ = try await shiming.staff([.reviewer], username: "reviewer.kept")  // a write here
                }
                #expect(try await verified() == true)

                // The grant withdrawn elsewhere: the query's write finds it no longer in force.
                try await elsewhere("UPDATE grants SET revoked_at = \(bind: shiming.clock.now())")
                #expect(try await verified() == nil)
                #expect(try await verified() == nil)

                // Every query counted, kept read or not; every answered one audited, the refused ones not.
                #expect(try await shiming.callsCounted(inEveryWindow: true) - calls == (seconds > 0 ? 8 : 5))
                #expect(try await shiming.queriesAudited() - audited == (seconds > 0 ? 6 : 3))
                if case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) {} else { Issue.record("audit chain broken") }
            }
        }
    }

    @Test("A kept read serves its platform's subject alone, under the stamp it was kept with, until its verification expires; its answer serves a write that found what was kept, on the day it was made")
    func keptReadsBounds() {
        let lookups = VerificationLookups(lifetime: 60)
        let (platform, other, now, subject) = (UUID(), UUID(), Date(timeIntervalSince1970: 1_796_000_000), "sub_bounds")
        let verification = AnsweredVerification(id: UUID(), program: "e-commerce", dataSealed: "", identityCode: nil, decidedBy: "system",
                                                verifiedAt: now, expiresAt: now.addingTimeInterval(10))
        let found = GrantStore.Queried(id: UUID(), accountID: UUID(), claims: [.verified, .ageOver18], verified: verification)
        let answer = VerificationAnswer(verified: true, level: "document", verifiedAt: now, claims: ["verified": .bool(true), "ageOver18": .bool(true)])
        let today = ChinaTime.civilDay(now)
        let kept = VerificationLookups.Kept(found: found, answer: answer, day: today)
        lookups.keep(kept, platform: platform, subject: subject, at: now, stamp: 3)
        #expect(lookups.find(platform: platform, subject: subject, at: now.addingTimeInterval(5), stamp: 3) == kept)
        #expect(lookups.find(platform: other, subject: subject, at: now.addingTimeInterval(5), stamp: 3) == nil)
        #expect(lookups.find(platform: platform, subject: subject, at: now.addingTimeInterval(5), stamp: 4) == nil)
        lookups.keep(kept, platform: platform, subject: subject, at: now, stamp: 3)
        #expect(lookups.find(platform: platform, subject: subject, at: now.addingTimeInterval(10), stamp: 3) == nil)

        // The answer kept serves the grant and verification it was made from, on its day alone.
        #expect(kept.answer(for: found, on: today) == answer)
        #expect(kept.answer(for: found, on: ChinaTime.civilDay(now.addingTimeInterval(86_400))) == nil, "age claims are the day's")
        let claimsChanged = GrantStore.Queried(id: found.id, accountID: found.accountID, claims: [.verified], verified: verification)
        #expect(kept.answer(for: claimsChanged, on: today) == nil)
        var renewed = verification
        renewed.expiresAt = now.addingTimeInterval(86_400 * 365)
        #expect(kept.answer(for: GrantStore.Queried(id: found.id, accountID: found.accountID, claims: found.claims, verified: renewed), on: today) == nil)

        let none = VerificationLookups(lifetime: 0)  // SHIMING_SESSION_CACHE_SECONDS=0: nothing kept
        none.keep(kept, platform: platform, subject: subject, at: now, stamp: 3)
        #expect(none.find(platform: platform, subject: subject, at: now, stamp: 3) == nil)
    }
}
