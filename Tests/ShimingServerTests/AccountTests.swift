import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Registration and contact confirmation")
struct RegistrationTests {
    @Test("registering with a phone: pending, masked contact, an SMS code, then active after the code")
    func phoneRegistration() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(username: "liming", phone: "13800138000"))
            #expect(created.status == "pending_activation")
            #expect(created.contacts == [ContactView(channel: "sms", value: "138****8000", confirmed: false, role: "self")])
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            #expect(code.count == 6 && code.allSatisfy(\.isNumber))
            let message = try #require(shiming.sink.messages.last)
            #expect(message.template == "contact_code")
            #expect(message.text.contains(code) && message.text.contains("5 分钟"))

            let confirmed = try await shiming.send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": code])
            #expect(confirmed.status == .ok)
            let account = try confirmed.json(TestShiming.Created.self)
            #expect(account.status == "active")
            #expect(account.contacts.first?.confirmed == true)

            let actions = try await AuditLog.events(subject: "account:\(created.id.uuidString.lowercased())", on: shiming.db).map(\.action)
            #expect(actions == ["account.registered", "consent.accepted", "consent.accepted", "consent.accepted", "contact.confirmed"])
        }
    }

    @Test("personal data is stored encrypted; codes only as hashes")
    func encryptedAtRest() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(phone: "13800138000", email: "li@example.com")
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            let sql = try #require(shiming.db as? any SQLDatabase)
            let account = try #require(try await sql.raw("SELECT * FROM accounts").first())
            for column in ["phone_sealed", "email_sealed", "phone_index", "email_index"] {
                let value = try account.decode(column: column, as: String.self)
                #expect(!value.contains("13800138000") && !value.contains("li@example.com"))
            }
            for row in try await sql.raw("SELECT code_hash FROM one_time_codes").all() {
                #expect(try row.decode(column: "code_hash", as: String.self) != code)
            }
        }
    }

    @Test("bad input names every offending field and stores nothing", arguments: [
        (["phone": "1380013800", "password": goodPassword], "phone", "invalid_length"),
        (["email": "not-an-address", "password": goodPassword], "email", "invalid_format"),
        (["phone": "13800138000", "password": "short1"], "password", "password_too_short"),
        (["phone": "13800138000", "password": "onlyletters"], "password", "password_single_class"),
        (["phone": "13800138000", "password": "Password123"], "password", "password_common"),
        (["phone": "13800138000", "password": "x13800138000"], "password", "password_contains_personal_data"),
        (["username": "9lives", "phone": "13800138000", "password": goodPassword], "username", "invalid_format"),
        (["username": "onlyname", "password": goodPassword], "phone", "required"),
    ])
    func badInput(body: [String: String], field: String, code: String) async throws {
        try await withShiming { shiming in
            let response = try await shiming.postRegistration(body)
            #expect(response.status == .unprocessableEntity)
            #expect(response.apiError?.fields?[field] == code, "\(response.text)")
            #expect(try await AccountRecord.query(on: shiming.db).count() == 0)
            try await shiming.deliverOutbox()
            #expect(shiming.sink.messages.isEmpty)
        }
    }

    @Test("the terms must be accepted")
    func terms() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.POST, "/api/v1/accounts", json: ["phone": "13800138000", "password": goodPassword])
            #expect(response.status == .unprocessableEntity)
            #expect(response.apiError?.fields?["acceptTerms"] == "required")
        }
    }

    @Test("a taken username, phone or e-mail is a 409 naming the field — once the limits let the attempt through (they come first)")
    func duplicates() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(username: "liming", phone: "13800138000", email: "li@example.com")
            // Within the phone's resend pause the limit answers, before anything tells whether
            // the phone is registered.
            let early = try await shiming.postRegistration(["phone": "13800138000", "password": goodPassword])
            #expect(early.status == .tooManyRequests && early.apiError?.fields == nil)
            shiming.clock.advance(by: 61)
            for (body, field) in [
                (["username": "LiMing", "phone": "13900139000"], "username"),
                (["phone": "+86 138 0013 8000"], "phone"),
                (["email": "li@EXAMPLE.com"], "email"),
            ] {
                var request = body
                request["password"] = goodPassword
                let response = try await shiming.postRegistration(request)
                #expect(response.status == .conflict)
                #expect(response.apiError?.fields == [field: "taken"])
            }
        }
    }

    @Test("P4: a student registers with the guardian's phone, which gets the consent text and the code")
    func guardianRegistration() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(username: "xiaoming", guardianPhone: "13900139000"))
            #expect(created.contacts == [ContactView(channel: "sms", value: "139****9000", confirmed: false, role: "guardian")])
            let code = try #require(try await shiming.latestCode(to: "13900139000"))
            #expect(shiming.sink.messages.last?.template == "guardian_code")
            #expect(shiming.sink.messages.last?.text.contains("监护人") == true)
            let confirmed = try await shiming.send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": code])
            #expect(try confirmed.json(TestShiming.Created.self).status == "active")
            // A sibling may register with the same guardian phone, but not within the resend
            // cooldown (registration cannot be used to flood a phone with codes).
            try await shiming.registerAccount(username: "xiaohong", guardianPhone: "13900139000", expect: .tooManyRequests)
            shiming.clock.advance(by: 61)
            try await shiming.registerAccount(username: "xiaohong", guardianPhone: "13900139000")
        }
    }

    @Test("P2: the e-mail link activates the account once, within 24 hours")
    func emailActivation() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(email: "li@example.com"))
            try await shiming.deliverOutbox()
            let mail = try #require(shiming.sink.messages.last)
            #expect(mail.channel == .email && mail.subject == "请确认您的邮箱")
            #expect(mail.html?.contains("http://shiming.test/api/v1/accounts/activate?token=") == true)
            let link = try #require(mail.text.split(separator: "\n").first { $0.hasPrefix("http://shiming.test/") })
            let path = String(link.dropFirst("http://shiming.test".count))

            let activated = try await shiming.send(.GET, path)
            #expect(activated.status == .ok, "\(activated.text)")
            #expect(try activated.json(TestShiming.Created.self).status == "active")
            let again = try await shiming.send(.GET, path)
            #expect(again.apiError?.code == "invalid_token")

            // A second account's link expires after a day.
            try await shiming.registerAccount(email: "wang@example.com")
            try await shiming.deliverOutbox()
            let second = try #require(shiming.sink.messages.last?.text.split(separator: "\n").first { $0.hasPrefix("http://shiming.test/") })
            shiming.clock.advance(by: 24 * 3600 + 1)
            let late = try await shiming.send(.GET, String(second.dropFirst("http://shiming.test".count)))
            #expect(late.apiError?.code == "invalid_token")
            _ = created
        }
    }

    @Test("a browser following the link lands on the sign-in page")
    func activationRedirect() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(email: "li@example.com")
            try await shiming.deliverOutbox()
            let link = try #require(shiming.sink.messages.last?.text.split(separator: "\n").first { $0.hasPrefix("http://shiming.test/") })
            let response = try await shiming.send(.GET, String(link.dropFirst("http://shiming.test".count)), headers: ["Accept": "text/html"])
            #expect(response.status == .seeOther)
            #expect(response.headers.first(name: .location) == "/signin?activated=1")
            // Opened again from the mail: a page that says what to do, not JSON.
            let again = try await shiming.send(.GET, String(link.dropFirst("http://shiming.test".count)), headers: ["Accept": "text/html"])
            #expect(again.headers.contentType?.subType == "html")
            #expect(again.text.contains("已经用过或已过期") && again.text.contains("href=\"/signin\""))
            #expect(!again.text.contains("{\"error\""))
        }
    }
}

@Suite("One-time codes")
struct CodeTests {
    func requestCode(_ shiming: TestShiming, _ destination: String, purpose: String = "confirm_contact") async throws -> TestingHTTPResponse {
        try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": destination, "purpose": purpose])
    }

    @Test("the answer is 202 whether or not the destination is registered, and nothing goes to strangers")
    func noEnumeration() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(phone: "13800138000")
            shiming.clock.advance(by: 61)
            let known = try await requestCode(shiming, "13800138000")
            let unknown = try await requestCode(shiming, "13900139000")
            #expect(known.status == .accepted && unknown.status == .accepted)
            #expect(known.text == unknown.text)
            try await shiming.deliverOutbox()
            #expect(!shiming.sink.messages.contains { $0.to == "13900139000" })
            #expect(shiming.sink.messages.filter { $0.to == "13800138000" }.count == 2)
            // The cooldown applies to both alike.
            #expect(try await requestCode(shiming, "13800138000").status == .tooManyRequests)
            #expect(try await requestCode(shiming, "13900139000").status == .tooManyRequests)
        }
    }

    @Test("resending waits 60 seconds, and a destination gets at most 10 codes a day")
    func limits() async throws {
        try await withShiming { shiming in
            let first = try await requestCode(shiming, "13900139000")
            #expect(first.status == .accepted)
            shiming.clock.advance(by: 30)
            let early = try await requestCode(shiming, "13900139000")
            #expect(early.status == .tooManyRequests)
            #expect(early.headers.first(name: .retryAfter) == "30")
            for _ in 0..<9 {
                shiming.clock.advance(by: 60)
                #expect(try await requestCode(shiming, "13900139000").status == .accepted)
            }
            shiming.clock.advance(by: 60)
            #expect(try await requestCode(shiming, "13900139000").status == .tooManyRequests, "the eleventh in a day")
            shiming.clock.advance(by: 24 * 3600)
            #expect(try await requestCode(shiming, "13900139000").status == .accepted)
        }
    }

    @Test("a code is single use, void after 5 wrong entries, and expires after 5 minutes")
    func codeRules() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(phone: "13800138000"))
            let code = try #require(try await shiming.latestCode(to: "13800138000"))
            let path = "/api/v1/accounts/\(created.id)/contacts/confirm"
            let wrong = code == "000000" ? "111111" : "000000"
            for remaining in (1...4).reversed() {
                let response = try await shiming.send(.POST, path, json: ["channel": "sms", "code": wrong])
                #expect(response.apiError?.code == "invalid_code")
                #expect(response.apiError?.message.contains("\(remaining)") == true)
            }
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": wrong]).apiError?.code == "code_expired")
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": code]).apiError?.code == "code_expired",
                    "void after five wrong entries, even with the right code")

            shiming.clock.advance(by: 61)
            #expect(try await requestCode(shiming, "13800138000").status == .accepted)
            let fresh = try #require(try await shiming.latestCode(to: "13800138000"))
            shiming.clock.advance(by: 301)
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": fresh]).apiError?.code == "code_expired")

            #expect(try await requestCode(shiming, "13800138000").status == .accepted)
            let third = try #require(try await shiming.latestCode(to: "13800138000"))
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": third]).status == .ok)
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": third]).apiError?.code == "code_expired", "single use")
        }
    }

    @Test("a new code replaces the previous one")
    func newCodeReplacesOld() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(phone: "13800138000"))
            let old = try #require(try await shiming.latestCode(to: "13800138000"))
            shiming.clock.advance(by: 61)
            _ = try await requestCode(shiming, "13800138000")
            let new = try #require(try await shiming.latestCode(to: "13800138000"))
            let path = "/api/v1/accounts/\(created.id)/contacts/confirm"
            if old != new {
                #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": old]).status != .ok)
            }
            #expect(try await shiming.send(.POST, path, json: ["channel": "sms", "code": new]).status == .ok)
        }
    }
}

@Suite("Registration limits")
struct RegistrationLimitTests {
    @Test("one address cannot register without end: the per-IP code cap applies to registration")
    func perIPCap() async throws {
        try await withShiming { shiming in
            let service = shiming.app.features.accounts
            let cap = OneTimeCodePolicy().hourlyCapPerIP
            for i in 0..<cap {
                _ = try await service.register(
                    .init(phone: "1380013\(String(format: "%04d", i))", password: goodPassword, acceptTerms: true),
                    lang: .zhCN, ip: "203.0.113.5"
                )
            }
            await #expect {
                _ = try await service.register(.init(phone: "13900139999", password: goodPassword, acceptTerms: true), lang: .zhCN, ip: "203.0.113.5")
            } throws: { error in
                (error as? UserFacingError)?.code == "rate_limited"
            }
            #expect(try await AccountRecord.query(on: shiming.db).count() == cap, "nothing stored for the refused one")
            _ = try await service.register(.init(phone: "13900139999", password: goodPassword, acceptTerms: true), lang: .zhCN, ip: "198.51.100.7")
            shiming.clock.advance(by: 3601)
            _ = try await service.register(.init(phone: "13900139998", password: goodPassword, acceptTerms: true), lang: .zhCN, ip: "203.0.113.5")
        }
    }
}
