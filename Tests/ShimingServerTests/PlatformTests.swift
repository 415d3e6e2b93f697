import Crypto
import Fluent
import Foundation
import NIOConcurrencyHelpers
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// What a platform sees of Shiming, in the tests' words.
struct PlatformReply: Decodable {
    struct Key: Decodable { var id: UUID; var prefix: String; var lastUsedAt: Date?; var revokedAt: Date?; var apiKey: String? }
    var id: UUID
    var name: String
    var claims: [String]
    var keys: [Key]?
    var apiKey: String?
    var webhookSecret: String?
}

struct SessionReply: Decodable {
    var id: UUID
    var url: String
    var status: String
    var reference: String
    var subject: String?
    var verification: VerificationReply?
}

struct VerificationReply: Decodable, Equatable {
    var verified: Bool
    var program: String?
    var level: String?
    var expiresAt: Date?
    var claims: [String: ClaimValue]
}

struct GrantReply: Decodable {
    struct Ref: Decodable { var id: UUID; var name: String }
    struct Day: Decodable { var day: String; var count: Int }
    var id: UUID
    var platform: Ref
    var claims: [String]
    var state: String
    var queries: [Day]
}

extension TestShiming {
    /// Registers a platform as an admin; returns its reply with the key and secret shown once.
    func registerPlatform(_ admin: String, name: String, webhook: String?, programs: [String] = ["e-commerce"],
                          claims: [String] = ["verified", "ageOver18", "maskedName"],
                          redirect: String = "https://shop.example/return") async throws -> PlatformReply {
        var body: [String: Any] = ["name": name, "redirectUris": [redirect], "programs": programs, "claims": claims,
                                   "purpose": "下单前确认买家已成年"]
        if let webhook { body["webhookUrl"] = webhook }
        let response = try await sendObject(.POST, "/api/v1/admin/platforms", token: admin, body)
        #expect(response.status == .created, "\(response.text)")
        return try response.json(PlatformReply.self)
    }

    func startSession(_ key: String, reference: String, program: String = "e-commerce",
                      returnUrl: String = "https://shop.example/return") async throws -> SessionReply {
        let response = try await sendObject(.POST, "/api/v1/verification-sessions", token: key,
                                            ["program": program, "reference": reference, "returnUrl": returnUrl])
        #expect(response.status == .created, "\(response.text)")
        return try response.json(SessionReply.self)
    }

    /// Opens the hosted page as the signed-in person (bearer, as a page guard accepts).
    func openHosted(_ session: SessionReply, token: String?) async throws -> TestingHTTPResponse {
        var headers: HTTPHeaders = ["Accept": "text/html"]
        if let token { headers.add(name: .authorization, value: "Bearer \(token)") }
        return try await app.testing().sendRequest(.GET, "/verify/\(session.id.uuidString.lowercased())", headers: headers)
    }

    /// Answers the consent screen; returns the redirect's location.
    func answerConsent(_ session: SessionReply, token: String, _ decision: String) async throws -> TestingHTTPResponse {
        var headers = bearer(token)
        headers.contentType = .urlEncodedForm
        return try await app.testing().sendRequest(.POST, "/verify/\(session.id.uuidString.lowercased())/consent", headers: headers,
                                                   body: ByteBuffer(string: "decision=\(decision)"))
    }

    func query(_ key: String, _ subject: String) async throws -> TestingHTTPResponse {
        try await send(.GET, "/api/v1/verifications/\(subject)", headers: bearer(key))
    }

    /// Queries for `subjects` while the writer is held: the first one's write waits for it, the
    /// others queue behind and are written as the next batch. The answers, in order.
    func heldQueries(_ key: String, subjects: [String]) async throws -> [TestingHTTPResponse] {
        let (context, holding) = (app.shiming, NIOLockedValueBox(false))
        return try await withThrowingTaskGroup(of: (Int, TestingHTTPResponse?).self) { group in
            group.addTask {
                try await context.writeGate.transaction(on: self.db) { _ in
                    holding.withLockedValue { $0 = true }
                    try await waitUntil { context.queryCalls.waiting >= subjects.count - 1 }
                }
                return (-1, nil)
            }
            try await waitUntil { holding.withLockedValue({ $0 }) }
            for (n, subject) in subjects.enumerated() {
                group.addTask { (n, try await self.query(key, subject)) }
                if n == 0 {  // its write, alone, waits for the writer
                    try await waitUntil { context.writeGate.waiting >= 1 }
                }
            }
            return try await group.reduce(into: [(Int, TestingHTTPResponse?)]()) { $0.append($1) }
                .sorted { $0.0 < $1.0 }.compactMap(\.1)
        }
    }

    /// A shopper verified by the identity service who granted a new platform its claims; the
    /// clock then moves to the next minute, so the set-up's calls count in the one before. The
    /// platform's key, the shopper's token and the subject the platform knows them by.
    func grantedShopper(_ service: FakeIdentityService, admin: String, phone: String, reference: String,
                        claims: [String] = ["verified", "ageOver18", "maskedName"]) async throws -> (key: String, token: String, subject: String) {
        let admin = try await staff([.admin], username: admin)
        let key = try #require(try await registerPlatform(admin, name: "商城", webhook: nil, claims: claims).apiKey)
        let (_, token) = try await activeApplicant(phone: phone)
        service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
        _ = try await shopCase(token, name: "周杰", number: adultMale)
        let session = try await startSession(key, reference: reference)
        _ = try await openHosted(session, token: token)
        _ = try await answerConsent(session, token: token, "grant")
        let subject = try #require(try await send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: bearer(key))
            .json(SessionReply.self).subject)
        clock.advance(by: 60)
        return (key, token, subject)
    }

    /// The platform calls counted in the current minute's window (every key's), or in every window.
    func callsCounted(inEveryWindow: Bool = false) async throws -> Int {
        let window = Int64(clock.now().timeIntervalSince1970) / 60
        let which: SQLQueryString = inEveryWindow ? "" : " WHERE window_start = \(bind: window)"
        return try await db.sql().raw("""
            SELECT COALESCE(CAST(SUM(count) AS BIGINT), 0) AS calls FROM platform_rate_windows\(which)
            """).first()?.decode(column: "calls", as: Int.self) ?? 0
    }

    /// The verification queries in the audit log.
    func queriesAudited() async throws -> Int {
        try await AuditEventRecord.query(on: db).filter(\.$action == "verification.queried").count()
    }

    /// The queries the person sees counted on their grants.
    func queriesSeen(_ token: String) async throws -> Int {
        try await send(.GET, "/api/v1/me/grants", headers: bearer(token)).json([GrantReply].self).flatMap(\.queries).map(\.count).reduce(0, +)
    }
}

/// Checks a webhook's signature the way docs/platforms.md tells platforms to.
func signatureValid(_ header: String, body: String, secret: String) -> Bool {
    let parts = header.split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
    guard let t = parts.first(where: { $0.first == "t" })?.last else { return false }
    let mac = HMAC<SHA256>.authenticationCode(for: Data("\(t).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
    let expected = mac.map { String(format: "%02x", $0) }.joined()
    return parts.contains { $0.first == "v1" && $0.last == expected }
}

@Suite("Relying platforms: keys, hosted sessions, grants, the verification query and signed webhooks")
struct PlatformTests {
    @Test("A P5 shopper goes through a hosted session to verified, grants, returns; the signed webhook arrives; the query answers exactly the granted claims; a second platform sees another subject and needs no second application; withdrawal revokes")
    func hostedFlow() async throws {
        let service = FakeIdentityService()
        try await WebhookReceiver.with { receiver in
            try await withShiming(identityService: service) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.platforms")
                let shop = try await shiming.registerPlatform(admin, name: "优选商城", webhook: receiver.url)
                let apiKey = try #require(shop.apiKey)
                let secret = try #require(shop.webhookSecret)
                #expect(apiKey.hasPrefix("sk_live_") && apiKey.count >= 8 + 43)
                #expect(shop.claims == ["verified", "ageOver18", "maskedName"])
                // Shown once: reading the platform again gives neither.
                let read = try await shiming.send(.GET, "/api/v1/admin/platforms/\(shop.id)", headers: shiming.bearer(admin))
                #expect(!read.text.contains(apiKey) && !read.text.contains(secret))

                let session = try await shiming.startSession(apiKey, reference: "shop-user-1001")
                #expect(session.status == "open")
                #expect(session.url == "http://shiming.test/verify/\(session.id.uuidString.lowercased())")

                // Signed out: the page offers sign-in and remembers the session.
                let anonymous = try await shiming.openHosted(session, token: nil)
                #expect(anonymous.status == .ok)
                #expect(anonymous.text.contains("优选商城") && anonymous.text.contains("hosted-signin"))
                #expect(anonymous.headers.setCookie?[WebVerifyController.cookie]?.string == session.id.uuidString.lowercased())

                // An unverified shopper signs in: the session becomes theirs, and they apply.
                let (_, token) = try await shiming.activeApplicant(phone: "13800138051")
                let apply = try await shiming.openHosted(session, token: token)
                #expect(apply.text.contains("hosted-apply"))
                #expect(try await shiming.send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: shiming.bearer(apiKey))
                    .json(SessionReply.self).status == "pending")
                service.set(adultFemale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
                let item = try await shiming.shopCase(token, name: "陈志远", number: adultFemale)
                #expect(item.state == "verified")

                // Back on the page: the consent screen names the platform, the claims, the purpose.
                let consent = try await shiming.openHosted(session, token: token)
                #expect(consent.text.contains("consent-grant") && consent.text.contains("下单前确认买家已成年"))
                #expect(consent.text.contains("data-claim=\"ageOver18\"") && !consent.text.contains("data-claim=\"name\""))
                let granted = try await shiming.answerConsent(session, token: token, "grant")
                #expect(granted.status == .seeOther)
                #expect(granted.headers.first(name: .location) == "https://shop.example/return?session=\(session.id.uuidString)&status=verified")

                // The platform reads the session: verified, with a pairwise subject and the verification.
                let done = try await shiming.send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: shiming.bearer(apiKey))
                    .json(SessionReply.self)
                #expect(done.status == "verified" && done.reference == "shop-user-1001")
                let subject = try #require(done.subject)
                #expect(subject.hasPrefix("sub_") && !subject.contains(item.id.uuidString.lowercased()))

                // The signed webhook.
                try await shiming.deliverOutbox()
                let hook = try #require(receiver.received.last)
                #expect(hook.headers.first(name: "X-Shiming-Event") == "verification_session.completed")
                #expect(signatureValid(try #require(hook.headers.first(name: "X-Shiming-Signature")), body: hook.body, secret: secret))
                #expect(!signatureValid(try #require(hook.headers.first(name: "X-Shiming-Signature")), body: hook.body + " ", secret: secret))
                #expect(hook.body.contains(subject) && hook.body.contains("\"status\":\"verified\""))
                #expect(!hook.body.contains("陈") && !hook.body.contains(adultFemale))
                let deliveryHeader = try #require(hook.headers.first(name: "X-Shiming-Delivery"))
                #expect(hook.body.contains("\"id\":\"\(deliveryHeader)\""))
                // The delivery id begins with the event's time (version 7; docs/platforms.md).
                let delivery = try #require(UUID(uuidString: deliveryHeader))
                #expect(TimeOrderedIDTests.version(delivery) == 7)

                // The query: exactly the granted claims, never the number.
                let answer = try await shiming.query(apiKey, subject)
                #expect(answer.status == .ok, "\(answer.text)")
                let verification = try answer.json(VerificationReply.self)
                #expect(verification.verified && verification.level == "registry")
                #expect(verification.claims == ["verified": .bool(true), "ageOver18": .bool(true), "maskedName": .string("陈*远")])
                #expect(verification.program == nil && verification.expiresAt == nil)
                #expect(!answer.text.contains(adultFemale))

                // "Who asked about me": the person sees the platform and today's count.
                let grants = try await shiming.send(.GET, "/api/v1/me/grants", headers: shiming.bearer(token)).json([GrantReply].self)
                #expect(grants.count == 1 && grants[0].platform.name == "优选商城" && grants[0].state == "active")
                #expect(grants[0].queries.map(\.count).reduce(0, +) >= 1)
                // …and in the access log, by the platform's name.
                let log = try await shiming.send(.GET, "/api/v1/me/access-log", headers: shiming.bearer(token))
                #expect(log.status == .ok && log.text.contains("\"platform_query\"") && log.text.contains("优选商城"), "\(log.text)")

                // A second platform: another subject for the same person, and no second application.
                let school = try await shiming.registerPlatform(admin, name: "网课平台", webhook: nil, claims: ["verified", "name"],
                                                                redirect: "https://school.example/back")
                let second = try await shiming.startSession(try #require(school.apiKey), reference: "stu-7", returnUrl: "https://school.example/back")
                let straight = try await shiming.openHosted(second, token: token)
                #expect(straight.text.contains("consent-grant"), "already verified: straight to consent")
                #expect(try await shiming.answerConsent(second, token: token, "grant").status == .seeOther)
                let secondRead = try await shiming.send(.GET, "/api/v1/verification-sessions/\(second.id)",
                                                        headers: shiming.bearer(try #require(school.apiKey))).json(SessionReply.self)
                let otherSubject = try #require(secondRead.subject)
                #expect(otherSubject != subject)
                #expect(secondRead.verification?.claims == ["verified": .bool(true), "name": .string("陈志远")])
                // One platform cannot ask about the other's subject.
                #expect(try await shiming.query(try #require(school.apiKey), subject).status == .notFound)

                // Withdrawal: grant.revoked to the platform, and the query answers 404.
                let shopGrant = try #require(grants.first)
                let withdrawn = try await shiming.send(.DELETE, "/api/v1/me/grants/\(shopGrant.id)", headers: shiming.bearer(token))
                #expect(withdrawn.status == .noContent)
                try await shiming.deliverOutbox()
                #expect(receiver.received.last?.headers.first(name: "X-Shiming-Event") == "grant.revoked")
                #expect(receiver.received.last?.body.contains(subject) == true)
                #expect(try await shiming.query(apiKey, subject).status == .notFound)

                // The used link: a clear page, nothing changed.
                let used = try await shiming.openHosted(session, token: token)
                #expect(used.status == .gone && used.text.contains("session-closed"))
                #expect(try await shiming.answerConsent(session, token: token, "grant").status == .gone)
                let actions = try await AuditEventRecord.query(on: shiming.db).all().map(\.action)
                #expect(Set(actions).isSuperset(of: ["platform.registered", "verification_session.created", "verification_session.completed",
                                                     "grant.given", "verification.queried", "grant.withdrawn"]))
            }
        }
    }

    @Test("Platforms the person authorised hear of a freeze, its end and a renewal (verification.updated); while frozen the query says not verified; the case page shows a platform still waiting")
    func verificationUpdated() async throws {
        let service = FakeIdentityService()
        try await WebhookReceiver.with { receiver in
            try await withShiming(identityService: service) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.updates")
                let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: receiver.url)
                let key = try #require(shop.apiKey)
                let (accountID, token) = try await shiming.activeApplicant(phone: "13800138060")
                let waiting = try await shiming.startSession(key, reference: "w")
                _ = try await shiming.openHosted(waiting, token: token)
                service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
                let item = try await shiming.shopCase(token, name: "周杰", number: adultMale)
                let page = try await shiming.send(.GET, "/cases/\(item.id)", headers: shiming.bearer(token))
                #expect(page.text.contains("data-session=\"\(waiting.id.uuidString.lowercased())\""))
                #expect(page.text.contains("/verify/\(waiting.id.uuidString.lowercased())"))
                _ = try await shiming.answerConsent(waiting, token: token, "grant")
                let subject = try #require(try await shiming.send(.GET, "/api/v1/verification-sessions/\(waiting.id)", headers: shiming.bearer(key))
                    .json(SessionReply.self).subject)
                #expect(try await shiming.query(key, subject).json(VerificationReply.self).verified)

                let frozen = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(accountID)/freeze", token: admin, ["reason": "风险核查"])
                #expect(frozen.status == .ok || frozen.status == .noContent, "\(frozen.text)")
                let whileFrozen = try await shiming.query(key, subject).json(VerificationReply.self)
                #expect(!whileFrozen.verified && whileFrozen.claims == ["verified": .bool(false)])
                _ = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(accountID)/unfreeze", token: admin, [:])
                #expect(try await shiming.query(key, subject).json(VerificationReply.self).verified)
                // A renewal ends the verification it renews, and the platform hears of it.
                let renewal = try await shiming.createCase(token, ["program": "e-commerce", "renews": item.id.uuidString])
                try await shiming.addDocument(token, renewal.id, kind: "id_front")
                #expect(try await shiming.submitCase(token, renewal.id)?.state == "verified")
                let ended = try await shiming.getCase(token, item.id)
                #expect(ended.state == "expired" && ended.history.last?.rule == "program.renewed")
                #expect(try await shiming.query(key, subject).json(VerificationReply.self).verified)
                try await shiming.deliverOutbox()
                let updates = receiver.received.filter { $0.headers.first(name: "X-Shiming-Event") == "verification.updated" }
                let changes = updates.map { update in ["frozen", "unfrozen", "renewed", "verified"].first { update.body.contains("\"change\":\"\($0)\"") } }
                #expect(changes == ["frozen", "unfrozen", "renewed"])
                #expect(updates.allSatisfy { $0.body.contains(subject) && !$0.body.contains("风险") })

                // A probe of a subject the platform holds no grant for is refused, and audited.
                #expect(try await shiming.query(key, "sub_00000000000000000000000000000000").status == .notFound)
                let refused = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "platform.call_refused").all()
                #expect(refused.count == 1)
            }
        }
    }

    @Test("A receiver that fails twice gets the webhook on the third attempt (1 min, then 5 min later), once, with one delivery id")
    func webhookRetries() async throws {
        let service = FakeIdentityService()
        try await WebhookReceiver.with { receiver in
            try await withShiming(identityService: service) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.retries")
                let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: receiver.url)
                let apiKey = try #require(shop.apiKey)
                let (_, token) = try await shiming.activeApplicant(phone: "13800138052")
                service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
                #expect(try await shiming.shopCase(token, name: "周杰", number: adultMale).state == "verified")
                let session = try await shiming.startSession(apiKey, reference: "u-2")
                _ = try await shiming.openHosted(session, token: token)
                #expect(try await shiming.answerConsent(session, token: token, "decline").headers.first(name: .location)?
                    .hasSuffix("status=declined") == true)

                receiver.fail(next: 2)
                #expect(try await shiming.deliverOutbox().retrying == 1)
                shiming.clock.advance(by: 59)
                #expect(try await shiming.deliverOutbox() == DeliveryReport())  // not due before a minute
                shiming.clock.advance(by: 1)
                #expect(try await shiming.deliverOutbox().retrying == 1)
                shiming.clock.advance(by: 300)
                #expect(try await shiming.deliverOutbox().sent == 1)
                shiming.clock.advance(by: 86_400)
                #expect(try await shiming.deliverOutbox() == DeliveryReport())
                let attempts = receiver.received
                #expect(attempts.count == 3)
                #expect(Set(attempts.compactMap { $0.headers.first(name: "X-Shiming-Delivery") }).count == 1)
                #expect(attempts.allSatisfy { signatureValid($0.headers.first(name: "X-Shiming-Signature") ?? "", body: $0.body, secret: shop.webhookSecret ?? "") })
                #expect(attempts.last?.body.contains("\"status\":\"declined\"") == true)

                // The delivery log, and a manual redelivery with the same id (a day on: the admin signs in again).
                let signedIn = try await shiming.signIn("admin.retries")
                let log = try await shiming.send(.GET, "/api/v1/admin/platforms/\(shop.id)/deliveries", headers: shiming.bearer(signedIn))
                struct Delivery: Decodable { var id: UUID; var status: String; var attempts: Int }
                let deliveries = try log.json([Delivery].self)
                #expect(deliveries.count == 1 && deliveries[0].status == "sent" && deliveries[0].attempts == 3)
                let again = try await shiming.send(.POST, "/api/v1/admin/platforms/\(shop.id)/deliveries/\(deliveries[0].id)/redeliver",
                                                   headers: shiming.bearer(signedIn))
                #expect(again.status == .accepted)
                #expect(try await shiming.deliverOutbox().sent == 1)
                #expect(receiver.received.count == 4)
                #expect(receiver.received.last?.headers.first(name: "X-Shiming-Delivery") == deliveries[0].id.uuidString)
            }
        }
    }
}

@Suite("Relying platforms: bad input and abuse")
struct PlatformAbuseTests {
    @Test("Keys: a second key works beside the first, a revoked one is 401, an unknown one is 401, a key on a person's route is 403, each key's last use is kept; past the rate 429 with Retry-After")
    func keys() async throws {
        try await withShiming(adjust: { $0.platformRatePerMinute = 5 }) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.keys")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let first = try #require(shop.apiKey)
            let added = try await shiming.send(.POST, "/api/v1/admin/platforms/\(shop.id)/keys", headers: shiming.bearer(admin))
            #expect(added.status == .created)
            let second = try #require(try added.json(PlatformReply.Key.self).apiKey)
            #expect(second != first)
            #expect(try await shiming.startSession(second, reference: "a").status == "open")
            #expect(try await shiming.startSession(first, reference: "b").status == "open")

            let detail = try await shiming.send(.GET, "/api/v1/admin/platforms/\(shop.id)", headers: shiming.bearer(admin)).json(PlatformReply.self)
            let keys = try #require(detail.keys)
            #expect(keys.count == 2 && keys.allSatisfy { $0.lastUsedAt != nil && $0.apiKey == nil })
            let firstID = try #require(keys.first { first.hasPrefix($0.prefix) }?.id)
            let revoked = try await shiming.send(.DELETE, "/api/v1/admin/platforms/\(shop.id)/keys/\(firstID)", headers: shiming.bearer(admin))
            #expect(revoked.status == .noContent)
            let refused = try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(first))
            #expect(refused.status == .unauthorized && refused.apiError?.code == "invalid_api_key")
            #expect(try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer("sk_live_nonsense")).status == .unauthorized)
            // A key may call platform operations only.
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(second)).status == .forbidden)
            #expect(try await shiming.send(.GET, "/api/v1/admin/platforms", headers: shiming.bearer(second)).status == .forbidden)
            // An account may not call them.
            #expect(try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(admin)).status == .forbidden)

            // Rate: 5 a minute for this deployment, refused calls counted too; the second key has
            // made 3 calls above, so 2 more pass and the rest are refused.
            var statuses: [HTTPStatus] = []
            for _ in 0..<5 { statuses.append(try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(second)).status) }
            #expect(statuses == [.notFound, .notFound, .tooManyRequests, .tooManyRequests, .tooManyRequests])
            let limited = try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(second))
            #expect(limited.status == .tooManyRequests)
            let wait = try #require(Int(limited.headers.first(name: .retryAfter) ?? ""))
            #expect((1...60).contains(wait))
            shiming.clock.advance(by: TimeInterval(wait))
            #expect(try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(second)).status == .notFound)
        }
    }

    @Test("a key's lookup is reused for at most SHIMING_SESSION_CACHE_SECONDS, never after this instance changed a platform or key, never when 0")
    func keyCache() async throws {
        /// A platform's key that has made one call and then was revoked behind this instance's
        /// back (by another instance); `body` gets the next call's status and the platform.
        func revokedElsewhere(seconds: Int, _ body: (TestShiming, String, UUID, () async throws -> HTTPStatus) async throws -> Void) async throws {
            try await withShiming(adjust: { $0.sessionCacheSeconds = seconds }) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.cache")
                let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
                let key = try #require(shop.apiKey)
                let call = { try await shiming.send(.GET, "/api/v1/verifications/sub_x", headers: shiming.bearer(key)).status }
                #expect(try await call() == .notFound)
                try await shiming.db.sql().raw("UPDATE platform_keys SET revoked_at = \(bind: shiming.clock.now())").run()
                try await body(shiming, admin, shop.id, call)
            }
        }
        for seconds in [1, 0] {
            try await revokedElsewhere(seconds: seconds) { (shiming: TestShiming, _: String, _: UUID, call: () async throws -> HTTPStatus) async throws in
                if seconds > 0 {
                    #expect(try await call() == .notFound, "the lookup is reused within its lifetime")
                    shiming.clock.advance(by: TimeInterval(seconds))
                }
                #expect(try await call() == .unauthorized)
            }
        }
        try await revokedElsewhere(seconds: 1) { (shiming: TestShiming, admin: String, shop: UUID, call: () async throws -> HTTPStatus) async throws in
            // The query's own writes do not end the reuse; a change to a platform here does.
            #expect(try await call() == .notFound)
            let renamed = try await shiming.send(.PATCH, "/api/v1/admin/platforms/\(shop)", headers: shiming.bearer(admin), json: ["name": "新商城"])
            #expect(renamed.status == .ok)
            #expect(try await call() == .unauthorized)
        }
    }

    @Test("The verification query counts each call once, in the write it makes anyway, answered or not; past the allowance 429 with nothing recorded or audited")
    func queryCountsItsCalls() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service, adjust: { $0.platformRatePerMinute = 4 }) { shiming in
            let (key, token, subject) = try await shiming.grantedShopper(service, admin: "admin.counted", phone: "13800138061", reference: "counted")
            func counted() async throws -> Int { try await shiming.callsCounted() }
            func audited() async throws -> Int { try await shiming.queriesAudited() }
            func queriesSeen() async throws -> Int { try await shiming.queriesSeen(token) }
            let seenBefore = try await queriesSeen()  // what the session flow above recorded

            #expect(try await shiming.query(key, subject).status == .ok)
            #expect(try await [counted(), audited()] == [1, 1])
            #expect(try await shiming.query(key, "sub_unknown").status == .notFound)
            #expect(try await shiming.query(key, "sub_" + String(repeating: "0", count: 120)).status == .notFound)
            #expect(try await counted() == 3)
            #expect(try await shiming.query(key, subject).status == .ok)
            #expect(try await [counted(), audited()] == [4, 2])
            // Past the allowance: 429 with Retry-After, answered or not; the count stays, nothing
            // is recorded or audited, and the person's access count is unchanged.
            let limited = try await shiming.query(key, subject)
            #expect(limited.status == .tooManyRequests && limited.headers.first(name: .retryAfter) != nil)
            #expect(try await shiming.query(key, "sub_unknown").status == .tooManyRequests)
            #expect(try await [counted(), audited()] == [4, 2])
            #expect(try await queriesSeen() == seenBefore + 2)
            shiming.clock.advance(by: 60)
            #expect(try await shiming.query(key, subject).status == .ok)
            #expect(try await [counted(), audited()] == [1, 3])
        }
    }

    @Test("A grant whose claims are none of the application's is answered without opening it: with the application unreadable, the first platform's query answers; the second's, granted the masked name, does not")
    func answersWithoutOpeningTheApplication() async throws {
        let service = FakeIdentityService()
        // The application is changed below behind the instance's back, and each query must read it: no read kept (`VerificationLookups`).
        try await withShiming(identityService: service, adjust: { $0.sessionCacheSeconds = 0 }) { shiming in
            let (key, token, subject) = try await shiming.grantedShopper(service, admin: "admin.minimal", phone: "13800138062", reference: "minimal",
                                                                         claims: ["verified", "program"])
            let admin = try await shiming.staff([.admin], username: "admin.minimal.two")
            let other = try #require(try await shiming.registerPlatform(admin, name: "书店", webhook: nil).apiKey)
            let session = try await shiming.startSession(other, reference: "minimal-two")
            _ = try await shiming.openHosted(session, token: token)
            #expect(try await shiming.answerConsent(session, token: token, "grant").status == .seeOther)
            let otherSubject = try #require(try await shiming.send(.GET, "/api/v1/verification-sessions/\(session.id)", headers: shiming.bearer(other))
                .json(SessionReply.self).subject)
            #expect(try await shiming.query(other, otherSubject).status == .ok)

            // The application sealed under a key nobody holds: opening it can only fail.
            try await (shiming.db as! any SQLDatabase).raw("UPDATE cases SET data_sealed = 'deadbeef.AAAA'").run()
            let answered = try await shiming.query(key, subject)
            #expect(answered.status == .ok, "\(answered.text)")
            let reply = try answered.json(VerificationReply.self)
            #expect(reply == VerificationReply(verified: true, program: "e-commerce", level: "registry", claims: ["verified": .bool(true), "program": .string("e-commerce")]), "\(answered.text)")
            #expect(try await shiming.query(other, otherSubject).status == .internalServerError)
        }
    }

    @Test("A route that counts platform calls in its operation: a refusal in front of the operation is counted by the middleware, so past the allowance it is 429 and no more refusals are audited")
    func refusalInFrontOfACountingOperation() async throws {
        try await withShiming(adjust: { $0.platformRatePerMinute = 2 }) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.infront")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let key = try #require(shop.apiKey)
            shiming.clock.advance(by: 60)
            // No route refuses a key in front of its counting operation today; this one does, as a
            // check added later might.
            shiming.app.grouped(AccessGuard(access: .platform)).get("test", "refused-in-front") { _ -> String in
                throw Abort(.badRequest)
            }.countingPlatformCalls()
            var statuses: [HTTPStatus] = []
            for _ in 0..<3 {
                statuses.append(try await shiming.app.testing().sendRequest(.GET, "/test/refused-in-front", headers: shiming.bearer(key)).status)
            }
            #expect(statuses == [.badRequest, .badRequest, .tooManyRequests])
            let refused = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "platform.call_refused").count()
            #expect(refused == 2)
        }
    }

    @Test("Sessions and registrations refuse what is not registered: an unknown return URL, a program or claim beyond the registration, unknown fields; webhook targets are checked")
    func badInput() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.input")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let key = try #require(shop.apiKey)
            let elsewhere = try await shiming.sendObject(.POST, "/api/v1/verification-sessions", token: key,
                                                         ["program": "e-commerce", "reference": "x", "returnUrl": "https://evil.example/return"])
            #expect(elsewhere.status == .unprocessableEntity && elsewhere.apiError?.fields == ["returnUrl": "not_registered"])
            let program = try await shiming.sendObject(.POST, "/api/v1/verification-sessions", token: key,
                                                       ["program": "credit-bank", "reference": "x", "returnUrl": "https://shop.example/return"])
            #expect(program.apiError?.fields == ["program": "program_not_registered"])
            let extra = try await shiming.sendObject(.POST, "/api/v1/verification-sessions", token: key,
                                                     ["program": "e-commerce", "reference": "x", "returnUrl": "https://shop.example/return", "debug": true])
            #expect(extra.status == .unprocessableEntity && extra.apiError?.fields == ["debug": "unknown_field"])
            let long = try await shiming.sendObject(.POST, "/api/v1/verification-sessions", token: key,
                                                    ["program": "e-commerce", "reference": String(repeating: "r", count: 201), "returnUrl": "https://shop.example/return"])
            #expect(long.apiError?.fields == ["reference": "too_long"])

            let (_, token) = try await shiming.activeApplicant(phone: "13800138053")
            let beyond = try await shiming.sendObject(.POST, "/api/v1/me/grants", token: token, ["platform": shop.id.uuidString, "claims": ["name"]])
            #expect(beyond.status == .unprocessableEntity && beyond.apiError?.fields == ["claims": "claim_not_registered"])
            let unverified = try await shiming.sendObject(.POST, "/api/v1/me/grants", token: token, ["platform": shop.id.uuidString, "claims": ["verified"]])
            #expect(unverified.status == .conflict && unverified.apiError?.code == "not_verified")

            let badClaim = try await shiming.sendObject(.POST, "/api/v1/admin/platforms", token: admin,
                                                        ["name": "x", "redirectUris": ["https://a.example/r"], "programs": ["e-commerce"], "claims": ["documentNumber"]])
            #expect(badClaim.apiError?.fields == ["claims": "unknown_claim"])
            let badURL = try await shiming.sendObject(.POST, "/api/v1/admin/platforms", token: admin,
                                                      ["name": "x", "redirectUris": ["javascript:alert(1)"], "programs": ["nope"], "claims": [],
                                                       "webhookUrl": "ftp://a.example/h"])
            #expect(badURL.apiError?.fields == ["redirectUris[0]": "invalid_url", "programs": "unknown_program", "webhookUrl": "invalid_url"])
            #expect(try await shiming.send(.GET, "/api/v1/admin/platforms", headers: shiming.bearer(admin)).json([PlatformReply].self).count == 1)
        }
        // In production (https) a webhook must be https and not a private address.
        try await withShiming(adjust: { $0.publicURL = "https://shiming.example"; $0.webhookAllowPrivate = false }) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.production")
            for (url, problem) in [("http://hooks.example/h", "https_required"), ("https://127.0.0.1/h", "private_address"),
                                   ("https://10.1.2.3/h", "private_address"), ("https://localhost/h", "private_address"),
                                   ("https://[::1]/h", "private_address"), ("https://192.168.1.9/h", "private_address")] {
                let refused = try await shiming.sendObject(.POST, "/api/v1/admin/platforms", token: admin,
                                                           ["name": "x", "redirectUris": ["https://a.example/r"], "programs": ["e-commerce"],
                                                            "claims": ["verified"], "webhookUrl": url])
                #expect(refused.apiError?.fields == ["webhookUrl": problem], "\(url)")
            }
            #expect(try await shiming.registerPlatform(admin, name: "ok", webhook: "https://hooks.example/h").webhookSecret != nil)
        }
    }

    @Test("An expired or cancelled session URL shows a clear page and changes nothing; a session is used by one account only")
    func closedSessions() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.sessions")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let key = try #require(shop.apiKey)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138054")
            let (_, other) = try await shiming.activeApplicant(phone: "13800138055")

            let taken = try await shiming.startSession(key, reference: "t")
            #expect(try await shiming.openHosted(taken, token: token).status == .ok)
            let stranger = try await shiming.openHosted(taken, token: other)
            #expect(stranger.status == .gone && stranger.text.contains("data-status=\"cancelled\"") && !stranger.text.contains("back-to-platform"))

            let cancelled = try await shiming.startSession(key, reference: "c")
            let cancel = try await shiming.send(.POST, "/api/v1/verification-sessions/\(cancelled.id)/cancel", headers: shiming.bearer(key))
            #expect(try cancel.json(SessionReply.self).status == "cancelled")
            #expect(try await shiming.openHosted(cancelled, token: token).status == .gone)

            let late = try await shiming.startSession(key, reference: "l")
            shiming.clock.advance(by: 24 * 3600)
            let expired = try await shiming.openHosted(late, token: token)
            #expect(expired.status == .gone && expired.text.contains("data-status=\"expired\""))
            #expect(try await shiming.send(.GET, "/api/v1/verification-sessions/\(late.id)", headers: shiming.bearer(key))
                .json(SessionReply.self).status == "expired")
            // Another platform's session is not this one's to read (a day on: the admin signs in again).
            let other2 = try await shiming.registerPlatform(try await shiming.signIn("admin.sessions"), name: "别家", webhook: nil)
            #expect(try await shiming.send(.GET, "/api/v1/verification-sessions/\(late.id)", headers: shiming.bearer(try #require(other2.apiKey)))
                .status == .notFound)
        }
    }

    @Test("Opened signed out, a session URL is remembered: whoever registers first and signs in afterwards lands back on it")
    func landingAfterRegistration() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.landing")
            let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: nil)
            let session = try await shiming.startSession(try #require(shop.apiKey), reference: "new-user")
            let opened = try await shiming.openHosted(session, token: nil)
            let remembered = try #require(opened.headers.setCookie?[WebVerifyController.cookie]?.string)
            _ = try await shiming.activeApplicant(phone: "13800138059")
            let form = try await shiming.send(.GET, "/signin", headers: ["Accept": "text/html"])
            let csrf = try #require(form.headers.setCookie?[PageCSRF.cookie]?.string)
            let signedIn = try await shiming.postForm("/signin", ["_csrf": csrf, "login": "13800138059", "password": goodPassword], headers: [
                "Accept": "text/html", "Cookie": "\(PageCSRF.cookie)=\(csrf); \(WebVerifyController.cookie)=\(remembered)"])
            #expect(signedIn.headers.first(name: .location) == "/verify/\(session.id.uuidString.lowercased())")
        }
    }

    @Test("A rotated webhook secret: both the new and the old one sign for a day, then only the new")
    func secretRotation() async throws {
        try await WebhookReceiver.with { receiver in
            let service = FakeIdentityService()
            try await withShiming(identityService: service) { shiming in
                let admin = try await shiming.staff([.admin], username: "admin.secret")
                let shop = try await shiming.registerPlatform(admin, name: "商城", webhook: receiver.url)
                let old = try #require(shop.webhookSecret)
                struct Secret: Decodable { var webhookSecret: String }
                let rotated = try await shiming.send(.POST, "/api/v1/admin/platforms/\(shop.id)/webhook-secret", headers: shiming.bearer(admin))
                let new = try rotated.json(Secret.self).webhookSecret
                #expect(new != old)
                let (_, token) = try await shiming.activeApplicant(phone: "13800138056")
                service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
                _ = try await shiming.shopCase(token, name: "周杰", number: adultMale)
                for _ in 0..<2 {
                    let session = try await shiming.startSession(try #require(shop.apiKey), reference: "r")
                    _ = try await shiming.openHosted(session, token: token)
                    _ = try await shiming.answerConsent(session, token: token, "decline")
                    try await shiming.deliverOutbox()
                    shiming.clock.advance(by: 24 * 3600)
                }
                let (first, second) = (receiver.received[0], receiver.received[1])
                let header = { (r: WebhookReceiver.Received) in r.headers.first(name: "X-Shiming-Signature") ?? "" }
                #expect(header(first).components(separatedBy: "v1=").count == 3)
                #expect(signatureValid(header(first), body: first.body, secret: new) && signatureValid(header(first), body: first.body, secret: old))
                #expect(signatureValid(header(second), body: second.body, secret: new) && !signatureValid(header(second), body: second.body, secret: old))
            }
        }
    }
}

@Suite("Relying platforms on the pages")
struct PlatformPagesTests {
    func form(_ shiming: TestShiming, _ path: String, token: String, _ body: String) async throws -> TestingHTTPResponse {
        var headers = shiming.bearer(token)
        headers.contentType = .urlEncodedForm
        headers.add(name: .accept, value: "text/html")
        return try await shiming.app.testing().sendRequest(.POST, path, headers: headers, body: ByteBuffer(string: body))
    }

    @Test("An admin registers a platform on the desk (key and secret shown once), makes a second key, revokes the first; the person sees the platform on My account and withdraws there")
    func deskAndAccount() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.desk")
            let desk = try await shiming.send(.GET, "/staff", headers: shiming.bearer(admin))
            #expect(desk.text.contains("/staff/platforms"))
            let refused = try await form(shiming, "/staff/platforms", token: admin, "name=&redirectUris=nope&programs[]=e-commerce")
            #expect(refused.status == .unprocessableEntity && refused.text.contains("field-error"))
            let made = try await form(shiming, "/staff/platforms", token: admin,
                                      "name=%E5%95%86%E5%9F%8E&purpose=age&redirectUris=https%3A%2F%2Fshop.example%2Freturn%0Ahttps%3A%2F%2Fshop.example%2Fm"
                                      + "&webhookUrl=&programs[]=e-commerce&claims[]=ageOver18")
            #expect(made.status == .ok, "\(made.text)")
            let key = try #require(made.text.firstMatch(of: /sk_live_[A-Za-z0-9_-]{43}/).map { String($0.0) })
            #expect(made.text.contains("whsec_"))
            let platform = try #require(try await shiming.send(.GET, "/api/v1/admin/platforms", headers: shiming.bearer(admin))
                .json([PlatformReply].self).first)
            #expect(platform.claims == ["verified", "ageOver18"])
            let path = "/staff/platforms/\(platform.id.uuidString.lowercased())"
            let detail = try await shiming.send(.GET, path, headers: shiming.bearer(admin))
            #expect(!detail.text.contains(key) && detail.text.contains(String(key.prefix(14))))
            let second = try await form(shiming, path + "/keys", token: admin, "")
            let secondKey = try #require(second.text.firstMatch(of: /sk_live_[A-Za-z0-9_-]{43}/).map { String($0.0) })
            let keys = try #require(try await shiming.send(.GET, "/api/v1/admin/platforms/\(platform.id)", headers: shiming.bearer(admin))
                .json(PlatformReply.self).keys)
            let firstID = try #require(keys.first { key.hasPrefix($0.prefix) }?.id)
            #expect(try await form(shiming, "\(path)/keys/\(firstID.uuidString.lowercased())/revoke", token: admin, "").status == .seeOther)
            #expect(try await shiming.query(key, "sub_x").status == .unauthorized)
            #expect(try await shiming.query(secondKey, "sub_x").status == .notFound)

            let (_, token) = try await shiming.activeApplicant(phone: "13800138058")
            service.set(adultMale, RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
            _ = try await shiming.shopCase(token, name: "周杰", number: adultMale)
            let granted = try await shiming.sendObject(.POST, "/api/v1/me/grants", token: token, ["platform": platform.id.uuidString, "claims": ["ageOver18"]])
            #expect(granted.status == .created, "\(granted.text)")
            let person = try #require(try await shiming.app.features.accounts.account(try await shiming.accountID(token)))
            let subject = try #require(try await shiming.app.features.grants.list(account: person).first?.grant.subject)
            #expect(try await shiming.query(secondKey, subject).status == .ok)
            let mine = try await shiming.send(.GET, "/account/platforms", headers: shiming.bearer(token))
            #expect(mine.text.contains("商城") && mine.text.contains("data-state=\"active\"") && mine.text.contains("1 次"))
            let grantID = try granted.json(GrantReply.self).id.uuidString.lowercased()
            let withdrawn = try await form(shiming, "/account/platforms/\(grantID)/withdraw", token: token, "")
            #expect(withdrawn.status == .seeOther)
            #expect(try await shiming.send(.GET, "/account/platforms", headers: shiming.bearer(token)).text.contains("data-state=\"withdrawn\""))
            #expect(try await shiming.query(secondKey, subject).status == .notFound)
        }
    }
}

extension TestShiming {
    /// The account a bearer token signs in.
    func accountID(_ token: String) async throws -> UUID {
        struct Me: Decodable { var id: UUID }
        return try await send(.GET, "/api/v1/me", headers: bearer(token)).json(Me.self).id
    }
}
