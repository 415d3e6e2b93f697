import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// The right to deletion (issue 15, PIPL art. 47): a request with a 7-day grace that signing
/// in cancels, then erasure; an administrator's immediate erasure; grants revoked with the
/// platforms told; nothing of the person left to decrypt; the audit chain intact. Both engines.
@Suite("Deletion")
struct DeletionTests {
    static let day: TimeInterval = 86_400

    /// Every sealed value (and blind index) stored about the account now, to look for after.
    static func traces(_ shiming: TestShiming, _ id: UUID) async throws -> [String] {
        let sql = try #require(shiming.db as? any SQLDatabase)
        var traces: [String] = []
        for query: SQLQueryString in [
            "SELECT phone_sealed AS v FROM accounts WHERE id = \(bind: id)",
            "SELECT phone_index AS v FROM accounts WHERE id = \(bind: id)",
            "SELECT legal_name_sealed AS v FROM accounts WHERE id = \(bind: id)",
            "SELECT data_sealed AS v FROM cases WHERE account_id = \(bind: id)",
            "SELECT number_index AS v FROM cases WHERE account_id = \(bind: id)",
            "SELECT text_sealed AS v FROM feedback WHERE account_id = \(bind: id)",
            "SELECT client_sealed AS v FROM consent_acceptances WHERE account_id = \(bind: id)",
            "SELECT payload AS v FROM outbox_messages WHERE account_id = \(bind: id)",
        ] {
            traces += try await sql.raw(query).all().compactMap { try $0.decodeNil(column: "v") ? nil : $0.decode(column: "v", as: String.self) }
        }
        return traces
    }

    /// The database file (and its log) and every file under the data dir, as bytes.
    static func storedBytes(_ shiming: TestShiming) -> [Data] {
        let root = shiming.configuration.dataDirectory
        var all: [Data] = []
        let walker = FileManager.default.enumerator(atPath: root)
        while let path = walker?.nextObject() as? String {
            if let data = FileManager.default.contents(atPath: (root as NSString).appendingPathComponent(path)) { all.append(data) }
        }
        return all
    }

    @Test("asked with the password, cancelled by signing in, asked again, erased after 7 days: nothing of the person can be found or decrypted, the fact and the audit chain stay")
    func requestGraceErase() async throws {
        try await withShiming { shiming in
            let phone = "13800138510"
            let number = residentID(birth: "19600708", sequence: "344")
            let (id, token) = try await shiming.activeApplicant(phone: phone)
            let item = try await shiming.seniorCase(token, name: "周淑芬", number: number)
            #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "办理很方便"]).status == .created)
            try await shiming.deliverOutbox()
            let (_, otherToken) = try await shiming.activeApplicant(phone: "13800138511")
            let other = try await shiming.seniorCase(otherToken, name: "吴桂兰", number: residentID(birth: "19580101", sequence: "246"))
            let traces = try await Self.traces(shiming, id)
            #expect(traces.count >= 6)

            let wrong = try await shiming.sendObject(.POST, "/api/v1/me/deletion", token: token, ["password": "nope"])
            #expect(wrong.status == .unprocessableEntity)
            #expect(wrong.apiError?.fields?["password"] == "wrong_current_password")
            let asked = try await shiming.sendObject(.POST, "/api/v1/me/deletion", token: token, ["password": goodPassword])
            #expect(asked.status == .accepted, "\(asked.text)")
            struct Requested: Decodable { var dueAt: Date; struct Kept: Decodable { var key: String }; var kept: [Kept] }
            let requested = try asked.json(Requested.self)
            #expect(requested.dueAt == shiming.clock.now().addingTimeInterval(7 * Self.day))
            #expect(Set(requested.kept.map(\.key)) == ["applications", "audit", "consents", "grants"])
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .unauthorized, "signed out")
            #expect(try await shiming.latestCode(to: phone) != nil || shiming.sink.messages.contains { $0.to == phone && $0.text.contains("注销") })

            // Signing in within the 7 days cancels; nothing is erased when the day comes.
            shiming.clock.advance(by: 3 * Self.day)
            let back = try await shiming.signIn(phone)
            // A sweep that listed the account just before the sign-in does not erase it after.
            #expect(try await !shiming.app.features.deletion.erase(id, by: .system, reason: nil, ip: nil))
            shiming.clock.advance(by: 5 * Self.day)
            #expect(try await shiming.app.features.deletion.eraseDue() == 0)
            #expect(try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(back)).status == .ok)

            // Asked again, and left: erased a week later by the sweep.
            #expect(try await shiming.sendObject(.POST, "/api/v1/me/deletion", token: back, ["password": goodPassword]).status == .accepted)
            shiming.clock.advance(by: 7 * Self.day + 60)
            #expect(try await shiming.app.features.deletion.eraseDue() == 1)
            #expect(try await shiming.app.features.deletion.eraseDue() == 0, "once")

            let signIn = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": phone, "password": goodPassword])
            #expect(signIn.status == .unauthorized)
            let stored = try #require(try await shiming.app.features.cases.store.cases.find(item.id))
            #expect(stored.state == .withdrawn && stored.numberIndex == nil)
            let opened = try shiming.app.features.cases.application(of: stored)
            #expect(opened == CaseApplication(), "the application's details are gone")
            #expect(try await Self.traces(shiming, id).allSatisfy { !$0.isEmpty && traces.contains($0) == false })
            #expect(try await StoredFileRecord.query(on: shiming.db).filter(\.$ownerID == id).count() == 0)
            #expect(try await FeedbackRecord.query(on: shiming.db).filter(\.$accountID == id).count() == 0)
            // The number can be used again by its holder in another account; the other person is untouched.
            #expect(try await shiming.getCase(otherToken, other.id).documents.count == 3)

            // Nothing of theirs is left in the database file, its log or the data dir (SQLite; on
            // PostgreSQL the rows are checked above).
            if TestEngine.postgresURL == nil {
                let bytes = Self.storedBytes(shiming)
                for trace in traces {
                    #expect(!bytes.contains { $0.range(of: Data(trace.utf8)) != nil }, "a sealed value of the person is still stored")
                }
            }
            let erased = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.erased").all()
            #expect(erased.count == 1)
            guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("the audit chain does not verify")
                return
            }
        }
    }

    @Test("an administrator erases at once with a reason: the platform's grant is revoked and it is told; the query then answers 404")
    func adminErase() async throws {
        let service = FakeIdentityService()
        try await WebhookReceiver.with { receiver in
            try await withShiming(identityService: service) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.erase")
                let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: receiver.url)
                let key = try #require(shop.apiKey)
                let (accountID, token) = try await shiming.activeApplicant(phone: "13800138520")
                let session = try await shiming.startSession(key, reference: "order-1")
                _ = try await shiming.openHosted(session, token: token)
                service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
                _ = try await shiming.shopCase(token, name: "周杰", number: adultMale)
                _ = try await shiming.answerConsent(session, token: token, "grant")
                let subject = try #require(try await shiming.send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: shiming.bearer(key))
                    .json(SessionReply.self).subject)
                #expect(try await shiming.query(key, subject).status == .ok)

                let noReason = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(accountID)/erase", token: admin, ["reason": " "])
                #expect(noReason.status == .unprocessableEntity)
                let erased = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(accountID)/erase", token: admin, ["reason": "本人来电要求立即注销"])
                #expect(erased.status == .ok, "\(erased.text)")
                let again = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(accountID)/erase", token: admin, ["reason": "重复"])
                #expect(again.status == .conflict)
                #expect(try await shiming.query(key, subject).status == .notFound)
                try await shiming.deliverOutbox()
                let revoked = receiver.received.filter { $0.headers.first(name: "X-Shiming-Event") == "grant.revoked" }
                #expect(revoked.count == 1 && revoked[0].body.contains(subject))
                let event = try #require(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.erased").first())
                #expect(!event.details.contains("本人来电"), "the reason is sealed in the audit details")
                #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .unauthorized)
            }
        }
    }

    @Test("on the staff desk an administrator sees the erase form (a supervisor does not) and erasing needs a reason")
    func eraseFromTheDesk() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.admin], username: "admin.desk")
            _ = try await shiming.staff([.supervisor], username: "supervisor.desk")
            let (id, _) = try await shiming.activeApplicant(phone: "13800138530")
            let page = "/staff/accounts?id=\(id.uuidString.lowercased())"
            let (supervisor, _) = try await shiming.webSession("supervisor.desk")
            #expect(!(try await shiming.app.testing().sendRequest(.GET, page, headers: supervisor).body.string.contains("id=\"erase\"")))
            let (admin, csrf) = try await shiming.webSession("admin.desk")
            #expect(try await shiming.app.testing().sendRequest(.GET, page, headers: admin).body.string.contains("id=\"erase\""))
            let path = "/staff/accounts/\(id.uuidString.lowercased())/erase"
            let empty = try await shiming.postForm(path, ["_csrf": csrf, "eraseReason": ""], headers: admin)
            #expect(empty.status == .unprocessableEntity)
            #expect(empty.body.string.contains("field-eraseReason-error"))
            let done = try await shiming.postForm(path, ["_csrf": csrf, "eraseReason": "本人书面申请"], headers: admin)
            #expect(done.status == .ok)
            #expect(done.body.string.contains("账号已注销") && !done.body.string.contains("id=\"erase\""))
            #expect(try await AccountRecord.find(id, on: shiming.db)?.erasedAt != nil)
        }
    }

    @Test("an administrator's erasure and the sweep at the same moment erase once: one account.erased, one set of webhooks")
    func parallelErasures() async throws {
        try await withShiming { shiming in
            _ = try await shiming.staff([.admin], username: "admin.race")
            let (id, token) = try await shiming.activeApplicant(phone: "13800138540")
            #expect(try await shiming.sendObject(.POST, "/api/v1/me/deletion", token: token, ["password": goodPassword]).status == .accepted)
            shiming.clock.advance(by: 8 * Self.day)
            let deletion = shiming.app.features.deletion
            let adminAccount = try #require(try await shiming.app.features.accounts.findAccount(login: "admin.race"))
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for attempt in 0..<6 {
                    group.addTask {
                        if attempt % 2 == 0 { return try await deletion.erase(id, by: .system, reason: nil, ip: nil) }
                        do {
                            try await deletion.erase(id, staff: adminAccount, reason: "并发测试", ip: nil)
                            return true
                        } catch let error as UserFacingError where error.code == "already_erased" {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
            #expect(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "account.erased").count() == 1)
        }
    }
}
