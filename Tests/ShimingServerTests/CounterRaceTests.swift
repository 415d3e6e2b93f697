import Fluent
import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Counters that limit something change in one conditional statement, so parallel requests
/// cannot slip past them (on PostgreSQL nothing serialises the requests; on SQLite the write
/// gate does).
@Suite("Counters under parallel requests")
struct CounterRaceTests {
    @Test("60 parallel wrong codes for one contact: exactly 5 are counted (4 answered invalid_code), then the code is void")
    func parallelWrongCodes() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(phone: "13800138000"))
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            let path = "/api/v1/accounts/\(created.id)/contacts/confirm"
            let wrong = code == "000000" ? "111111" : "000000"
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<60 {
                    group.addTask { try await shiming.send(.POST, path, json: ["channel": "sms", "code": wrong]).apiError?.code ?? "ok" }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(answers == ["invalid_code": 4, "code_expired": 56])
            let stored = try await OneTimeCodeRecord.query(on: shiming.db).filter(\.$purpose == CodePurpose.confirmContact.rawValue).all()
            #expect(stored.map(\.attempts) == [5])
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": code]).apiError?.code == "code_expired")
        }
    }

    @Test("20 parallel right codes: one confirms the contact, the rest find the code used")
    func parallelRightCodes() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(phone: "13800138000"))
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            let path = "/api/v1/accounts/\(created.id)/contacts/confirm"
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await shiming.send(.POST, path, json: ["channel": "sms", "code": code]).apiError?.code ?? "ok" }
                }
                return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(answers == ["ok": 1, "code_expired": 19])
            let confirmed = try await AuditLog.events(subject: AccountService.subject(created.id), on: shiming.db).filter { $0.action == "contact.confirmed" }
            #expect(confirmed.count == 1)
        }
    }

    @Test("20 parallel saves of one case read at the same version: exactly one is stored, the rest are case_changed")
    func parallelCaseSaves() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let created = try await shiming.createCase(token, ["program": "senior-personal"])
            let cases = shiming.app.features.cases
            let read = try #require(try await cases.store.cases.find(created.id))
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for attempt in 0..<20 {
                    group.addTask {
                        var copy = read
                        copy.confirmationAttempts = attempt
                        let now = shiming.clock.now()
                        do {
                            try await cases.store.transaction { [copy] tx in
                                var mine = copy
                                try await tx.cases.save(&mine, at: now)
                            }
                            return true
                        } catch let error where CaseErrors.isChanged(error) {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await cases.store.cases.find(created.id)?.version == read.version + 1)
        }
    }

    @Test("40 parallel calls with one platform key allowed 10 a minute: exactly 10 pass, 30 are 429; 20 parallel consents to one session: one grant; 30 parallel answered queries: 10 answered and audited, 20 are 429")
    func parallelPlatformCalls() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service, adjust: { $0.platformRatePerMinute = 10 }) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.race")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let key = try #require(shop.apiKey)
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<40 {
                    group.addTask { try await shiming.send(.GET, "/api/v1/verifications/sub_race", headers: shiming.bearer(key)).status.code }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(statuses == [404: 10, 429: 30])

            shiming.clock.advance(by: 60)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138057")
            service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
            _ = try await shiming.shopCase(token, name: "周杰", number: adultMale)
            let session = try await shiming.startSession(key, reference: "race")
            _ = try await shiming.openHosted(session, token: token)
            let answers = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await shiming.answerConsent(session, token: token, "grant").status.code }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(answers == [303: 1, 410: 19])
            let grants = try await shiming.send(.GET, "/api/v1/me/grants", headers: shiming.bearer(token)).json([GrantReply].self)
            #expect(grants.count == 1)

            // Answered queries count their call in their own transaction: in a new minute, 30 at
            // once give exactly 10 answers, each recorded and audited once.
            let subject = try #require(try await shiming.send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: shiming.bearer(key))
                .json(SessionReply.self).subject)
            shiming.clock.advance(by: 60)
            let audited = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "verification.queried").count()
            let queried = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<30 {
                    group.addTask { try await shiming.query(key, subject).status.code }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(queried == [200: 10, 429: 20])
            #expect(try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "verification.queried").count() == audited + 10)
        }
    }

    @Test("20 parallel code requests for one phone: one is sent, 19 wait for the pause; 12 parallel registrations, each of 6 phones twice: 6 pass the limits, and only those cost a password hash")
    func parallelCodeRequests() async throws {
        let hasher = CountingHasher()
        try await withShiming(passwordHasher: hasher) { shiming in
            _ = try await shiming.activeApplicant(phone: "13800138000")
            shiming.clock.advance(by: 3600)
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138000", "purpose": "reset_password"])
                            .status.code
                    }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(statuses == [202: 1, 429: 19])
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.filter { $0.template == "reset_password" }.count == 1)
        }
        try await withShiming(passwordHasher: hasher) { shiming in
            hasher.reset()
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for attempt in 0..<12 {
                    group.addTask {
                        // Six phones, each tried twice at once: the second of each pair is refused by the pause.
                        try await shiming.postRegistration(["phone": "1390013900\(attempt % 6)", "password": goodPassword]).status.code
                    }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(statuses[429] == 6 && (statuses[201] ?? 0) + (statuses[409] ?? 0) == 6)
            #expect(hasher.hashes == 6, "only registrations that passed the limits were hashed")
        }
    }
}

/// Hashes cheaply and counts how often it was asked to.
final class CountingHasher: ShimingServer.PasswordHasher, @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var hashes: Int { lock.withLock { count } }
    func reset() { lock.withLock { count = 0 } }
    func hash(_ password: String) async throws -> String {
        lock.withLock { count += 1 }
        return "plain:" + password
    }
    func verify(_ password: String, against hash: String) async throws -> Bool { hash == "plain:" + password }
    func decoy() async throws -> String { "plain:\u{0}" }
}
