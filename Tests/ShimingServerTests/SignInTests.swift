import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Sign-in, sessions and lockout")
struct SignInTests {
    func attempt(_ shiming: TestShiming, _ login: String, _ password: String) async throws -> TestingHTTPResponse {
        try await shiming.send(.POST, "/api/v1/sessions", json: ["login": login, "password": password])
    }

    @Test("sign in by phone, username or e-mail; the token opens /me; sign-out closes it")
    func session() async throws {
        try await withShiming { shiming in
            let created = try #require(try await shiming.registerAccount(username: "liming", phone: "13800138000", email: "li@example.com"))
            for login in ["13800138000", "+86 138 0013 8000", "LiMing", "li@example.com"] {
                let response = try await attempt(shiming, login, goodPassword)
                #expect(response.status == .created, "\(login): \(response.text)")
            }
            let token = try await shiming.signIn("liming")
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token))
            #expect(me.status == .ok)
            #expect(try me.json(TestShiming.Created.self).id == created.id)
            #expect(me.text.contains("138****8000") && !me.text.contains("13800138000"))

            #expect(try await shiming.send(.DELETE, "/api/v1/sessions/current", headers: shiming.bearer(token)).status == .noContent)
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .unauthorized)
            #expect(try await shiming.send(.GET, "/api/v1/me").status == .unauthorized)
        }
    }

    @Test("a session's lookup is reused for at most SHIMING_SESSION_CACHE_SECONDS, never after a write of this instance but the verification queries' own records, never when 0")
    func sessionCache() async throws {
        for seconds in [1, 0] {
            try await withShiming(adjust: { $0.sessionCacheSeconds = seconds }) { shiming in
                _ = try #require(try await shiming.registerAccount(username: "liming", phone: "13800138000", email: "li@example.com"))
                let token = try await shiming.signIn("liming")
                let me = { try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status }
                #expect(try await me() == .ok)
                // Signed out behind this instance's back (another instance, a command beside it).
                try await shiming.db.sql().raw("UPDATE sessions SET revoked_at = \(bind: shiming.clock.now())").run()
                if seconds > 0 {
                    #expect(try await me() == .ok, "the lookup is reused within its lifetime")
                    shiming.clock.advance(by: TimeInterval(seconds))
                }
                #expect(try await me() == .unauthorized)
            }
        }
        try await withShiming { shiming in
            _ = try #require(try await shiming.registerAccount(username: "liming", phone: "13800138000", email: "li@example.com"))
            let token = try await shiming.signIn("liming")
            let me = { try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status }
            #expect(try await me() == .ok)
            try await shiming.db.sql().raw("UPDATE sessions SET revoked_at = \(bind: shiming.clock.now())").run()
            #expect(try await me() == .ok)
            // The verification queries' records (their counts, notes and audit events) touch no session: the reuse goes on.
            try await shiming.app.shiming.writeGate.transaction(on: shiming.db, changesLookups: false) { _ in }
            #expect(try await me() == .ok, "reused across the queries' own writes")
            // Any other write transaction of this instance ends the reuse at once.
            try await shiming.app.shiming.writeGate.transaction(on: shiming.db) { _ in }
            #expect(try await me() == .unauthorized)
        }
    }

    @Test("a wrong password and an unknown login get the same answer")
    func noEnumeration() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(username: "liming", phone: "13800138000")
            let wrong = try await attempt(shiming, "liming", "Wrong-password-1")
            let unknown = try await attempt(shiming, "nobody", "Wrong-password-1")
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.apiError?.code == "invalid_credentials")
            #expect(wrong.text == unknown.text, "\(wrong.text) vs \(unknown.text)")
        }
    }

    @Test("5 failures in 15 minutes lock sign-in for 15 minutes, even for the right password; the next lock doubles")
    func lockout() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(username: "liming", phone: "13800138000")
            for _ in 0..<4 {
                #expect(try await attempt(shiming, "liming", "Wrong-password-1").status == .unauthorized)
                shiming.clock.advance(by: 60)
            }
            let fifth = try await attempt(shiming, "liming", "Wrong-password-1")
            #expect(fifth.status == .tooManyRequests)
            #expect(fifth.apiError?.code == "sign_in_locked")
            #expect(fifth.headers.first(name: .retryAfter) == "900")
            #expect(fifth.apiError?.message.contains("2026-11-21 16:19") == true, "the end of the lock in Beijing time: \(fifth.apiError?.message ?? "")")

            shiming.clock.advance(by: 600)
            let during = try await attempt(shiming, "liming", goodPassword)
            #expect(during.status == .tooManyRequests, "the right password is refused during the lock")
            #expect(during.headers.first(name: .retryAfter) == "300")

            shiming.clock.advance(by: 301)
            #expect(try await attempt(shiming, "liming", goodPassword).status == .created)

            for _ in 0..<5 { _ = try await attempt(shiming, "liming", "Wrong-password-1") }
            let second = try await attempt(shiming, "liming", goodPassword)
            #expect(second.headers.first(name: .retryAfter) == "1800", "the second lock within a day lasts 30 minutes")

            let events = try await AuditLog.latest(50, on: shiming.db).map(\.action)
            #expect(events.filter { $0 == "sign_in.locked" }.count == 2)
            #expect(events.contains("sign_in.failed") && events.contains("sign_in.succeeded"))
        }
    }

    @Test("failures spread over more than 15 minutes do not lock")
    func window() async throws {
        try await withShiming { shiming in
            try await shiming.registerAccount(username: "liming", phone: "13800138000")
            for _ in 0..<8 {
                #expect(try await attempt(shiming, "liming", "Wrong-password-1").status == .unauthorized)
                shiming.clock.advance(by: 4 * 60)
            }
        }
    }

    @Test("locked and closed accounts cannot sign in; a frozen one signs in to read why and appeal, and is refused everything else")
    func accountStates() async throws {
        try await withShiming { shiming in
            let (id, token) = try await shiming.activeApplicant()
            let record = try #require(try await AccountRecord.find(id, on: shiming.db))
            record.status = AccountStatus.frozen.rawValue
            record.statusReason = try shiming.app.shiming.cipher.seal("suspected fake registration", context: AccountRecord.context("status_reason", id))
            try await record.save(on: shiming.db)

            #expect(try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token)).status == .ok)
            let refused = try await shiming.send(.PATCH, "/api/v1/me", headers: shiming.bearer(token), json: ["displayName": "x"])
            #expect(refused.status == .forbidden)
            #expect(refused.apiError?.code == "account_frozen")
            #expect(refused.apiError?.message.contains("suspected fake registration") == true)
            #expect(try await attempt(shiming, "13800138000", goodPassword).status == .created)

            for (status, code) in [(AccountStatus.locked, "account_locked"), (.closed, "account_closed")] {
                record.status = status.rawValue
                try await record.save(on: shiming.db)
                #expect(try await attempt(shiming, "13800138000", goodPassword).apiError?.code == code)
            }
        }
    }

    @Test("a cookie session must send its CSRF token on changes")
    func csrf() async throws {
        try await withShiming { shiming in
            let (_, _) = try await shiming.activeApplicant()
            let session = try await shiming.app.features.accounts.signIn(
                .init(login: "13800138000", password: goodPassword), kind: "web", ip: nil
            )
            let cookie: HTTPHeaders = ["Cookie": "shiming_session=\(session.token)"]
            #expect(try await shiming.send(.GET, "/api/v1/me", headers: cookie).status == .ok)
            let refused = try await shiming.send(.DELETE, "/api/v1/sessions/current", headers: cookie)
            #expect(refused.status == .forbidden)
            #expect(refused.apiError?.code == "csrf_failed")
            var withToken = cookie
            withToken.add(name: "X-CSRF-Token", value: try #require(session.csrfToken))
            #expect(try await shiming.send(.DELETE, "/api/v1/sessions/current", headers: withToken).status == .noContent)
        }
    }
}

@Suite("Staff and the role × endpoint matrix")
struct AccessMatrixTests {
    @Test("shiming admin create's service makes an active staff account; a teacher needs a class")
    func createStaff() async throws {
        try await withShiming { shiming in
            let token = try await shiming.staff([.teacher], username: "teacher.wang", scope: ("第一中学", "初二", "3班"))
            let me = try await shiming.send(.GET, "/api/v1/me", headers: shiming.bearer(token))
            #expect(me.text.contains("\"teacher\""))
            let incomplete = AccountService.StaffInput(username: "teacher.li", password: goodPassword, roles: ["teacher"],
                                                       phone: nil, email: nil, school: nil, grade: nil, class: nil)
            await #expect(throws: UserFacingError.self) {
                try await shiming.app.features.accounts.createStaff(incomplete, actor: .cli("test"), ip: nil)
            }
            let events = try await AuditLog.latest(10, on: shiming.db).map(\.action)
            #expect(events.contains("staff.created"))
        }
    }

    /// Who walks the matrix: nobody, an applicant, and one staff member per role (token, roles).
    static func callers(_ shiming: TestShiming) async throws -> [(String, String?, Set<StaffRole>?)] {
        let (_, applicant) = try await shiming.activeApplicant()
        var callers: [(String, String?, Set<StaffRole>?)] = [("anonymous", nil, nil), ("applicant", applicant, nil)]
        for role in StaffRole.allCases {
            let scope: (String, String, String)? = role == .teacher ? ("第一中学", "初二", "3班") : nil
            callers.append((role.rawValue, try await shiming.staff([role], username: "staff.\(role.rawValue)", scope: scope), [role]))
        }
        return callers
    }

    /// The route's path with a fresh id for every parameter.
    static func samplePath(_ route: Route) -> String {
        "/" + route.path.map { component -> String in
            if case .parameter = component { return UUID().uuidString }
            return component.description
        }.joined(separator: "/")
    }

    /// Whether a caller with this token and these roles passes the declared access; a platform
    /// key passes platform operations only, and no account passes those; a frozen holder and an
    /// account whose contact is unconfirmed pass only what a holder may do.
    static func allows(_ access: Access, token: String?, roles: Set<StaffRole>?, limited: Bool = false) -> Bool {
        let platform = token?.hasPrefix(PlatformService.keyPrefix) == true
        switch access {
        case .everyone: return true
        case .platform: return platform
        case .holder: return token != nil && !platform
        case .signedIn: return token != nil && !platform && !limited
        case .staff(let needed): return !platform && !limited && (roles.map { !$0.isDisjoint(with: needed) } ?? false)
        }
    }

    /// The further callers of the matrix: a minor registered with the guardian's phone, a frozen
    /// holder and an account whose phone is not confirmed yet (the last two are "limited").
    static func personas(_ shiming: TestShiming) async throws -> [(String, String?, Set<StaffRole>?)] {
        let admin = try await shiming.staff([.admin], username: "staff.personas")
        let minor = try #require(try await shiming.registerAccount(username: "xiaoming.matrix", guardianPhone: "13900139555"))
        let code = try #require(try await shiming.latestCode(to: "13900139555"))
        _ = try await shiming.send(.POST, "/api/v1/accounts/\(minor.id)/contacts/confirm", json: ["channel": "sms", "code": code])
        let (frozenID, frozen) = try await shiming.activeApplicant(phone: "13800138566")
        let froze = try await shiming.sendObject(.POST, "/api/v1/admin/accounts/\(frozenID)/freeze", token: admin, ["reason": "矩阵测试"])
        #expect(froze.status == .ok, "\(froze.text)")
        _ = try #require(try await shiming.registerAccount(phone: "13800138577"))
        return [("minor", try await shiming.signIn("xiaoming.matrix"), nil), ("frozen", frozen, nil),
                ("unconfirmed", try await shiming.signIn("13800138577"), nil)]
    }

    static let limitedCallers: Set<String> = ["frozen", "unconfirmed"]

    /// A relying platform's key, as the fourth kind of caller of the API matrix.
    static func platformCaller(_ shiming: TestShiming) async throws -> (String, String?, Set<StaffRole>?) {
        let admin = try await shiming.staff([.admin], username: "staff.platforms")
        let platform = try await shiming.registerPlatform(admin, name: "矩阵平台", webhook: nil)
        return ("platform", platform.apiKey, nil)
    }

    static func isSignOut(_ route: Route) -> Bool { route.method == .DELETE && route.path.contains(.constant("sessions")) }

    @Test("every guarded endpoint refuses the anonymous (401), and the wrong roles or kind of caller — an account on a platform operation, a platform key elsewhere, a frozen or unconfirmed account beyond what a holder may do — (403), for applicant, minor, frozen, unconfirmed, each staff role and a platform key, on SQLite and PostgreSQL")
    func matrix() async throws {
        try await withShiming { shiming in
            let callers = try await Self.callers(shiming) + [Self.platformCaller(shiming)] + Self.personas(shiming)
            // Sign-out ends the caller's session, so it goes last.
            let routes = shiming.app.routes.all
                .filter { $0.operation != nil && $0.operation?.access != .everyone }
                .sorted { (Self.isSignOut($0) ? 1 : 0) < (Self.isSignOut($1) ? 1 : 0) }
            #expect(!routes.isEmpty)
            for route in routes {
                let access = try #require(route.operation?.access)
                let path = Self.samplePath(route)
                for (name, token, roles) in callers {
                    let response = try await shiming.send(route.method, path, headers: token.map(shiming.bearer) ?? [:], json: [String: String]())
                    let allowed = Self.allows(access, token: token, roles: roles, limited: Self.limitedCallers.contains(name))
                    if token == nil {
                        #expect(response.status == .unauthorized, "\(route.method) \(path) as \(name)")
                    } else if allowed {
                        #expect(response.status != .unauthorized && response.status != .forbidden, "\(route.method) \(path) as \(name): \(response.status)")
                    } else {
                        #expect(response.status == .forbidden, "\(route.method) \(path) as \(name): \(response.status)")
                    }
                }
            }
        }
    }

    @Test("a teacher of another class reaches nothing of a pupil's case: every review route, API and page, with the real case, task and document ids answers 403 or 404 and changes nothing, while the class's own teacher reads the same routes")
    func teacherOfAnotherClass() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.scope")
            let own = try await shiming.staff([.teacher], username: "teacher.own", scope: ("育才中学", "高一", "1班"))
            let other = try await shiming.staff([.teacher], username: "teacher.other", scope: ("育才中学", "高一", "2班"))
            let number = residentID(birth: "20100822", sequence: "137")
            _ = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n郑三,\(number),育才中学,高一,1班,2025\n", admin: admin)
            let (_, pupil) = try await shiming.activeApplicant(phone: "13800138071")
            let draft = try await shiming.createCase(pupil, [
                "program": "education-card",
                "identity": ["name": "郑叁", "documentType": "resident", "documentNumber": number],
                "school": ["school": "育才中学", "grade": "高一", "class": "1班", "enrolmentYear": 2025],
                "guardian": ["name": "家长", "phone": "13900139071", "relation": "mother"],
            ])
            try await shiming.addDocument(pupil, draft.id, kind: "id_front")
            let item = try #require(try await shiming.submitCase(pupil, draft.id))
            #expect(item.state == "needs_review")
            let task = try #require(try await shiming.task(for: item.id, staff: own))
            let document = try #require(try await shiming.getCase(pupil, item.id).documents.first)

            let routes = shiming.app.routes.all.filter { route in
                route.path.contains(.constant("review")) && route.path.contains { if case .parameter = $0 { true } else { false } }
            }
            #expect(routes.count >= 14)
            func path(_ route: Route) -> String {
                var previous = ""
                return "/" + route.path.map { component -> String in
                    defer { previous = component.description }
                    guard case .parameter(let name) = component else { return component.description }
                    if name == "file" { return document.id.uuidString }
                    return (previous == "tasks" ? task.id : item.id).uuidString
                }.joined(separator: "/")
            }
            let bodies: [String: [String: String]] = [
                "decision": ["outcome": "approve"], "reveal": ["field": "identity.name", "purpose": "核对姓名"],
                "contacts": ["channel": "phone", "note": "已电话联系家长"], "alert": ["note": "材料可疑，请核实"],
            ]
            for route in routes {
                var headers = shiming.bearer(other)
                if route.pageAccess != nil { headers.add(name: .accept, value: "text/html") }
                let response = try await shiming.send(route.method, path(route), headers: headers, json: bodies[route.path.last?.description ?? ""] ?? [:])
                #expect([.forbidden, .notFound].contains(response.status), "\(route.method) \(path(route)) as the other class's teacher: \(response.status)")
                if route.method == .GET {
                    var ownHeaders = shiming.bearer(own)
                    if route.pageAccess != nil { ownHeaders.add(name: .accept, value: "text/html") }
                    let reached = try await shiming.send(.GET, path(route), headers: ownHeaders)
                    #expect(reached.status == .ok, "\(route.method) \(path(route)) as the class's teacher: \(reached.status)")
                }
            }
            #expect(try await shiming.getCase(pupil, item.id).state == "needs_review")
            #expect(try await shiming.task(for: item.id, staff: own)?.assigneeId == nil)
            let revealed = try await AuditLog.latest(200, on: shiming.db).filter { $0.action.contains("reveal") }
            #expect(revealed.isEmpty)
        }
    }

    @Test("every route declares its access, API or page; every guarded page sends the signed-out to sign-in and refuses the wrong roles (403)")
    func pageMatrix() async throws {
        try await withShiming { shiming in
            let undeclared = shiming.app.routes.all.filter { $0.operation == nil && $0.pageAccess == nil }
                .map { "\($0.method) /\($0.path.map(\.description).joined(separator: "/"))" }
            #expect(undeclared.isEmpty, "routes without an access declaration: \(undeclared)")

            let callers = try await Self.callers(shiming)
            // Signing out ends the caller's session, so it is not walked.
            let pages = shiming.app.routes.all.filter { $0.pageAccess != nil && $0.pageAccess != .everyone }
            #expect(pages.count >= 50)
            for route in pages {
                let access = try #require(route.pageAccess)
                let path = Self.samplePath(route)
                for (name, token, roles) in callers {
                    var headers: HTTPHeaders = ["Accept": "text/html"]
                    if let token { headers.add(name: .authorization, value: "Bearer \(token)") }
                    let response = try await shiming.send(route.method, path, headers: headers)
                    let allowed = Self.allows(access, token: token, roles: roles)
                    let toSignIn = response.status == .seeOther && (response.headers.first(name: .location) ?? "").hasPrefix("/signin")
                    if token == nil {
                        #expect(toSignIn, "\(route.method) \(path) as \(name): \(response.status)")
                    } else if allowed {
                        #expect(!toSignIn && response.status != .forbidden && response.status != .unauthorized,
                                "\(route.method) \(path) as \(name): \(response.status)")
                    } else {
                        #expect(response.status == .forbidden, "\(route.method) \(path) as \(name): \(response.status)")
                    }
                }
            }
        }
    }
}
