import Crypto
import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Rotating the master key (issue 15): `keys rotate` then `keys retire` leaves every value and
/// file readable, the old key in no file and nothing under it, while another server on the same
/// data follows by itself. Both engines.
@Suite("Master key rotation")
struct KeyRotationTests {
    @Test("keys rotate makes a new version current and moves everything off the old one in batches; keys retire then drops the old key: all data reads as before, sessions stay valid, the audit chain verifies, and a second server on the same data follows")
    func rotateAndRetire() async throws {
        try await withShimingKeyFile { shiming, keyPath in
            let admin = try await shiming.staff([.admin], username: "admin.keys")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: "https://shop.example/hooks")
            let (_, token) = try await shiming.activeApplicant(phone: "13800138640")
            let item = try await shiming.seniorCase(token, name: "陈桂芳", number: residentID(birth: "19630303", sequence: "262"))
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "很好用"]).status == .created)
            let (otherID, _) = try await shiming.activeApplicant(phone: "13800138641")
            #expect(try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(otherID)/erase", token: admin, ["reason": "测试轮换前注销"]).status == .ok)
            let pupil = residentID(birth: "20120101", sequence: "011")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year,student_no\n王一,\(pupil),第一中学,初一,1班,2025,S01\n",
                                               admin: admin)
            let roster = Store(shiming.db, context: shiming.app.shiming).roster
            let before = try await shiming.getCase(token, item.id)
            let secrets = try await shiming.app.features.platforms.signingSecrets(shop.id, at: shiming.clock.now())

            // A second server on the same data, started before the rotation.
            let second = try await Application.make(.testing)
            do {
                try await configure(second, configuration: shiming.configuration, services: Services(clock: shiming.clock))
                let rotation = shiming.app.features.keyRotation
                let old = shiming.app.shiming.masterKeys.current.keyID
                await #expect(throws: UserFacingError.self, "the current version cannot be retired") { try await rotation.retire(old) }

                let new = try await rotation.rotate()
                #expect(new != old && shiming.app.shiming.masterKeys.current.keyID == new)
                var steps = 0
                while steps < 500, !(try await rotation.step(limit: 1)).isEmpty { steps += 1 }
                #expect(steps >= 2, "small batches")
                let versions = try await rotation.versions()
                let oldVersion = try #require(versions.first { $0.keyID == old })
                #expect(!oldVersion.inUse, "\(oldVersion)")
                #expect(try await roster.count(under: old) == 0, "the roll's line is no longer under the old version")
                #expect(try await roster.count(under: new) == 1)
                #expect(try #require(versions.first { $0.keyID == new }).accountKeys == 2, "the administrator's and the applicant's")

                try await rotation.retire(old)
                let text = try String(contentsOfFile: keyPath, encoding: .utf8)
                #expect(!text.contains(testEncryptionKey), "the old master key is in no file")
                #expect(text.contains("retired \(old) ") && text.contains("pinned audit-chain "))
                #expect(shiming.app.shiming.masterKeys.all.map(\.keyID) == [new])

                // Everything reads as before; the session (a hashed secret) still works.
                let after = try await shiming.getCase(token, item.id)
                #expect(after.identity.name == before.identity.name && after.identity.documentNumber == before.identity.documentNumber)
                let document = try await shiming.send(.GET, "/api/v1/cases/\(item.id)/documents/\(before.documents[0].id)", headers: shiming.bearer(token))
                #expect(document.status == .ok && document.body.readableBytes > 1000)
                #expect(try await shiming.app.features.platforms.signingSecrets(shop.id, at: shiming.clock.now()) == secrets)
                let erased = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.erased").first())
                let reason = try #require(StoredJSON.dictionary(erased.details)["reason"])
                #expect(reason.hasPrefix(old + "."), "sealed inside the audit event under the old version")
                #expect(try shiming.app.shiming.cipher.open(reason, context: DeletionService.reasonContext(otherID)) == "测试轮换前注销")
                guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                    Issue.record("the audit chain does not verify after the rotation")
                    return
                }
                let pupilLines = try await roster.lines(numberIndex: shiming.app.shiming.blindIndex.index(pupil, domain: CaseService.numberDomain))
                #expect(pupilLines.map(\.name) == ["王一"] && pupilLines.first?.extra == ["student_no": "S01"] && pupilLines.first?.school == "第一中学")
                // A new person after the rotation: their key is wrapped under the new version.
                let (newcomer, _) = try await shiming.activeApplicant(phone: "13800138642")
                _ = try await shiming.app.shiming.accountKeys.key(for: newcomer)
                #expect(try await shiming.app.shiming.accountKeys.count(under: new) == 3)

                // The second server, which started with the old key only, reads the new data.
                let stored = try #require(try await Store(second.db, context: second.shiming).cases.find(item.id))
                #expect(try second.features.cases.application(of: stored).identity.name == "陈桂芳")
                #expect(try await second.features.platforms.signingSecrets(shop.id, at: shiming.clock.now()) == secrets)
                try await second.asyncShutdown()
            } catch {
                try? await second.asyncShutdown()
                throw error
            }
        }
    }

    @Test("a key given inline cannot be rotated in place; a key file with a damaged line is refused naming the line")
    func refusals() async throws {
        try await withShiming { shiming in
            await #expect(throws: UserFacingError.self) { _ = try await shiming.app.features.keyRotation.rotate() }
        } as Void
        #expect {
            try KeyFile.parse("master \(testEncryptionKey)\npinned audit-chain nonsense\n", origin: "test.key")
        } throws: { error in
            String(describing: error).contains("line 2")
        }
        let file = try KeyFile.parse(testEncryptionKey, origin: "test.key")
        #expect(try KeyFile.parse(file.text(), origin: "test.key") == file, "what the commands write reads back the same")
        #expect(file.rings[0].keyID == KeyRing(masterKey: SymmetricKey(data: Data(base64Encoded: testEncryptionKey)!)).keyID)
    }
}
