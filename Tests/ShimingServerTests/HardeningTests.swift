import Crypto
import Fluent
import Foundation
import Logging
import NIOCore
import NIOPosix
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Issue 14, item 10: the smaller controls.
@Suite("Hardening: the smaller controls")
struct HardeningTests {
    @Test("A key file the group or others may read is refused with the chmod to run; a new one is created 0600")
    func sharedKeyFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        _ = try MasterKey.load(.dataDirectory(path: path), random: SystemRandom(), logger: Logger(label: "test"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        for source in [ShimingConfiguration.KeySource.dataDirectory(path: path), .file(path: path)] {
            #expect {
                try MasterKey.load(source, random: SystemRandom(), logger: Logger(label: "test"))
            } throws: { error in
                String(describing: error).contains("chmod 600")
            }
        }
    }

    @Test("The decoy hash for unknown logins is made at the configured cost")
    func decoyCost() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let decoy = try await BcryptPasswordHasher(cost: 5, threadPool: pool).decoy()
        #expect(decoy.hasPrefix("$2b$05$"))
        try await pool.shutdownGracefully()
    }

    @Test("Request paths are logged without forged lines; failed deliveries keep no addresses, numbers or codes")
    func logsAndErrors() {
        #expect(RequestLogMiddleware.printable("/a\nINFO forged\r\\") == "/a\\u{a}INFO forged\\u{d}\\u{5c}")
        let scrubbed = DeliveryErrorText.scrub("SMS gateway answered 500: {\"to\":\"13800138000\",\"text\":\"验证码 123456\"} mail li.lei@example.com")
        #expect(!scrubbed.contains("13800138000") && !scrubbed.contains("123456") && !scrubbed.contains("li.lei@"))
        #expect(scrubbed.contains("500") && scrubbed.contains("l***@example.com"))
        #expect(DeliveryErrorText.scrub(String(repeating: "x", count: 1000)).count == 300)
    }

    @Test("Staff bearer tokens live 12 hours, applicants' 30 days; /metrics asks for its token when one is set; HSTS on https")
    func tokensMetricsHSTS() async throws {
        try await withShiming(adjust: { $0.metricsToken = "metrics-token-0123456789"; $0.publicURL = "https://shiming.example" }) { shiming in
            _ = try await shiming.activeApplicant()
            let applicant = try await shiming.app.features.accounts.signIn(.init(login: "13800138000", password: goodPassword), kind: "api", ip: nil)
            #expect(applicant.expiresAt == shiming.clock.now().addingTimeInterval(30 * 24 * 3600))
            _ = try await shiming.staff([.reviewer], username: "reviewer.tokens")
            let staff = try await shiming.app.features.accounts.signIn(.init(login: "reviewer.tokens", password: goodPassword), kind: "api", ip: nil)
            #expect(staff.expiresAt == shiming.clock.now().addingTimeInterval(12 * 3600))

            #expect(try await shiming.send(.GET, "/metrics").status == .unauthorized)
            #expect(try await shiming.send(.GET, "/metrics", headers: ["Authorization": "Bearer wrong-token-0123456789"]).status == .unauthorized)
            #expect(try await shiming.send(.GET, "/metrics", headers: ["Authorization": "Bearer metrics-token-0123456789"]).status == .ok)
            let home = try await shiming.send(.GET, "/", headers: ["Accept": "text/html"])
            #expect(home.headers.first(name: "Strict-Transport-Security") == "max-age=31536000; includeSubDomains")
        }
        try await withShiming { (shiming: TestShiming) async throws in
            #expect(try await shiming.send(.GET, "/metrics").status == .ok)
            #expect(try await shiming.send(.GET, "/", headers: ["Accept": "text/html"]).headers.first(name: "Strict-Transport-Security") == nil)
        }
    }
}

@Suite("Hardening: client addresses behind trusted proxies")
struct TrustedProxyTests {
    /// Sign-in failures sent over a real socket (so the request has a peer address) with a
    /// forwarded client; returns the addresses the audit log recorded.
    func failedSignInAddresses(trusting proxies: [String]) async throws -> [String?] {
        try await withShiming(adjust: { $0.trustedProxies = proxies.compactMap(IPNetwork.init) }) { shiming in
            // A port the system says is free (other suites run servers at the same time).
            let probe = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
            let port = try #require(probe.localAddress?.port)
            try await probe.close()
            let tester = try shiming.app.testing(method: .running(hostname: "127.0.0.1", port: port))
            var headers: HTTPHeaders = ["X-Forwarded-For": "198.51.100.9", "Content-Type": "application/json"]
            headers.add(name: "Accept", value: "application/json")
            let response = try await tester.performTest(request: TestingHTTPRequest(
                method: .POST, url: URI(path: "/api/v1/sessions"), headers: headers,
                body: ByteBuffer(string: #"{"login":"nobody.here","password":"wrong-password"}"#)))
            #expect(response.status == .unauthorized)
            return try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "sign_in.failed").all().map(\.ip)
        }
    }

    @Test("Behind a trusted proxy the forwarded client is the address limited, logged and audited; otherwise a forged header is ignored")
    func forwardedClient() async throws {
        #expect(try await failedSignInAddresses(trusting: ["127.0.0.1/32"]) == ["198.51.100.9"])
        #expect(try await failedSignInAddresses(trusting: []) == ["127.0.0.1"])
        #expect(try await failedSignInAddresses(trusting: ["10.0.0.0/8"]) == ["127.0.0.1"])
    }

    @Test("A peer's address is written as NIO writes it (inet_ntop): IPv4 from its four bytes, IPv6 through NIO")
    func peerText() throws {
        for text in ["0.0.0.0", "10.0.0.5", "127.0.0.1", "203.0.113.255", "255.255.255.255"] {
            let address = try SocketAddress(ipAddress: text, port: 4711)
            #expect(Request.text(of: address) == text)
            #expect(Request.text(of: address) == address.ipAddress)
        }
        let v6 = try SocketAddress(ipAddress: "2001:db8::1", port: 4711)
        #expect(Request.text(of: v6) == v6.ipAddress)
    }
}

@Suite("Registry oracle")
struct RegistryOracleTests {
    @Test("A document number is looked up at most 3 times a day (any accounts): the fourth goes to a person as registry_limited, with a risk alert, and the service is not asked")
    func lookupsPerNumber() async throws {
        let service = FakeIdentityService()
        try await withShiming(identityService: service) { shiming in
            let number = residentID(birth: "19900101", sequence: "511")
            service.set(number, RegistryAnswer(verdict: .mismatch, matched: [.documentNumber], differed: [.name]))
            var states: [String] = []
            for (index, name) in ["张一", "张二", "张三", "张四"].enumerated() {
                let (_, token) = try await shiming.activeApplicant(phone: "1380013809\(index)")
                let item = try await shiming.shopCase(token, name: name, number: number)
                states.append(item.checks.first { $0.check == "registry" }?.code ?? "none")
            }
            #expect(states == ["registry_mismatch", "registry_mismatch", "registry_mismatch", "registry_limited"])
            #expect(service.calls == 3)
            let alerts = try await RiskAlertRecord.query(on: shiming.db).all()
            #expect(alerts.contains { $0.kind == "rate_limited" && $0.details.contains("registry_lookups") })
            // A day later the number may be looked up again.
            shiming.clock.advance(by: 24 * 3600 + 1)
            let (_, token) = try await shiming.activeApplicant(phone: "13800138099")
            #expect(try await shiming.shopCase(token, name: "张五", number: number).checks.first { $0.check == "registry" }?.code == "registry_mismatch")
            #expect(service.calls == 4)
        }
    }
}

extension RegistryOracleTests {
    /// A program checked against the roll, at most 3 look-ups of a number a day.
    static let rollProgram = """
    key: roll-check
    title: {zh-CN: 名册核对, en: Roll check}
    identity:
      documentTypes: [resident]
    sections: [school]
    documents:
      - {kind: id_front, required: false}
    registry: {source: roster, match: [name, document_number], lookupsPerNumberPerDay: 3}
    """

    @Test("The roll's look-ups are counted in the submission's own transaction: of 8 parallel submissions of one number (8 accounts, allowance 3), exactly 3 are answered from the roll; the rest go to a person as registry_limited, with a risk alert")
    func rollLookupsCountedInTheSubmission() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-roll-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory + "/programs", withIntermediateDirectories: true)
        try Self.rollProgram.write(toFile: directory + "/programs/roll.yaml", atomically: true, encoding: .utf8)
        try await withShiming(dataDirectory: directory) { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.roll")
            let number = residentID(birth: "19900101", sequence: "611")
            let report = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n王一,\(number),第一中学,初一,1班,2025\n",
                                                        admin: admin)
            #expect(report.imported == 1)
            var cases: [(String, UUID)] = []
            for index in 0..<8 {
                let (_, token) = try await shiming.activeApplicant(phone: "1380013810\(index)")
                let item = try await shiming.createCase(token, ["program": "roll-check",
                                                                "identity": ["name": "王一", "documentType": "resident", "documentNumber": number],
                                                                "school": ["school": "第一中学", "grade": "初一", "class": "1班", "enrolmentYear": 2025]])
                cases.append((token, item.id))
            }
            let codes = try await withThrowingTaskGroup(of: String.self) { group in
                for (token, id) in cases {
                    group.addTask { try await shiming.submitCase(token, id)?.checks.first { $0.check == "registry" }?.code ?? "none" }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(codes.filter { $0 == "registry_limited" }.count == 5, "\(codes)")
            #expect(codes.filter { $0 != "registry_limited" }.count == 3 && !codes.contains("none"), "\(codes)")
            let alerts = try await RiskAlertRecord.query(on: shiming.db).all()
            #expect(alerts.contains { $0.kind == "rate_limited" && $0.details.contains("registry_lookups") })
        }
    }
}

@Suite("Uploads and drafts per account")
struct UploadLimitTests {
    @Test("An account keeps at most 5 open drafts (409 too_many_drafts, also with 8 created at once); a signed-out upload is turned away before its body matters")
    func drafts() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let statuses = try await withThrowingTaskGroup(of: UInt.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await shiming.sendObject(.POST, "/api/v1/cases", token: token, ["program": "credit-bank"]).status.code }
                }
                return try await group.reduce(into: [UInt: Int]()) { $0[$1, default: 0] += 1 }
            }
            #expect(statuses == [201: 5, 409: 3])
            let refused = try await shiming.sendObject(.POST, "/api/v1/cases", token: token, ["program": "credit-bank"])
            #expect(refused.apiError?.code == "too_many_drafts")
            let drafts = try await shiming.send(.GET, "/api/v1/cases?mine=1", headers: shiming.bearer(token)).json([CaseReply].self)
            #expect(drafts.count == 5)

            // Signed out: the page guard answers before the handler reads the upload.
            var (headers, body) = TestFiles.multipart(file: TestFiles.png(width: 1200, height: 800), filename: "a.png", fields: ["kind": "id_front"])
            headers.add(name: .accept, value: "text/html")
            let anonymous = try await shiming.app.testing().sendRequest(.POST, "/cases/\(drafts[0].id)/edit/documents", headers: headers, body: body)
            #expect(anonymous.status == .seeOther && anonymous.headers.first(name: .location)?.hasPrefix("/signin") == true)
        }
    }

    @Test("Uploads past the account's quota are refused (422 storage_full) and nothing is stored")
    func quota() async throws {
        let photo = TestFiles.png(width: 1200, height: 800)
        try await withShiming(adjust: { $0.uploadQuotaBytes = photo.count * 3 / 2 }) { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let item = try await shiming.createCase(token, ["program": "online-education"])
            var last: TestingHTTPResponse?
            for kind in ["id_front", "id_back"] {
                var (headers, body) = TestFiles.multipart(file: photo, filename: "\(kind).png", fields: ["kind": kind])
                headers.add(name: "Authorization", value: "Bearer \(token)")
                last = try await shiming.app.testing().sendRequest(.POST, "/api/v1/cases/\(item.id)/documents", headers: headers, body: body)
            }
            #expect(last?.status == .unprocessableEntity && last?.apiError?.code == "storage_full")
            #expect(try await shiming.getCase(token, item.id).documents.count == 1)
        }
    }

    @Test("5 parallel uploads (one to each of 5 drafts) against a quota of two and a half: exactly 2 are stored, 3 are storage_full, nothing else is left")
    func parallelQuota() async throws {
        let photo = TestFiles.png(width: 1200, height: 800)
        try await withShiming(adjust: { $0.uploadQuotaBytes = photo.count * 5 / 2 }) { shiming in
            let (_, token) = try await shiming.activeApplicant()
            var cases: [UUID] = []
            for _ in 0..<5 { cases.append(try await shiming.createCase(token, ["program": "online-education"]).id) }
            let answers = try await withThrowingTaskGroup(of: (UInt, String?).self) { group in
                for caseID in cases {
                    group.addTask {
                        let (headers, body) = TestFiles.multipart(file: photo, fields: ["kind": "id_front"])
                        let response = try await postDocument(shiming, token, caseID, body, headers)
                        return (response.status.code, response.apiError?.code)
                    }
                }
                return try await group.reduce(into: [String: Int]()) { $0["\($1.0) \($1.1 ?? "")", default: 0] += 1 }
            }
            #expect(answers == ["201 ": 2, "422 storage_full": 3], "\(answers)")
            #expect(storedObjects(shiming).count == 2)
        }
    }

    /// The sealed files and half-written parts in the data dir.
    func storedObjects(_ shiming: TestShiming) -> [String] {
        let root = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("files")
        return (FileManager.default.subpaths(atPath: root) ?? []).filter { $0.hasSuffix(".bin") || $0.hasSuffix(".part") }
    }

    func postDocument(_ shiming: TestShiming, _ token: String, _ caseID: UUID, _ body: ByteBuffer, _ headers: HTTPHeaders) async throws -> TestingHTTPResponse {
        var headers = headers
        headers.add(name: "Authorization", value: "Bearer \(token)")
        return try await shiming.app.testing().sendRequest(.POST, "/api/v1/cases/\(caseID)/documents", headers: headers, body: body)
    }

    @Test("A 4 MB document is sealed while it arrives: on disk as 64 KiB segments without a byte of plaintext, read back unchanged")
    func streamed() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let item = try await shiming.createCase(token, ["program": "online-education"])
            let marker = Data("PLAINTEXT-MARKER-".utf8)
            var photo = TestFiles.jpegHeader(width: 1600, height: 1200)
            while photo.count < 4_000_000 { photo += marker }
            let (headers, body) = TestFiles.multipart(file: photo, filename: "front.jpg", fields: ["kind": "id_front"])
            let response = try await postDocument(shiming, token, item.id, body, headers)
            #expect(response.status == .created, "\(response.text)")
            let objects = storedObjects(shiming)
            #expect(objects.count == 1 && objects.first?.hasSuffix(".bin") == true, "\(objects)")
            let root = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("files")
            let sealed = try Data(contentsOf: URL(fileURLWithPath: "\(root)/\(objects.first ?? "")"))
            let segments = (photo.count + SealedStream.segmentBytes - 1) / SealedStream.segmentBytes
            #expect(sealed.prefix(4) == Data("SHS1".utf8))
            #expect(sealed.count == SealedStream.headerBytes + photo.count + segments * SealedStream.tagBytes)
            #expect(sealed.range(of: marker) == nil)
            let document = try #require(try await shiming.getCase(token, item.id).documents.first)
            let back = try await shiming.send(.GET, "/api/v1/cases/\(item.id)/documents/\(document.id)", headers: shiming.bearer(token))
            #expect(back.status == .ok && Data(buffer: back.body) == photo)
        }
    }

    @Test("Refused uploads leave nothing behind: too large (422 file_too_large), an unknown part, a bad replace, a body cut short, no file")
    func refusedUploads() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant()
            let item = try await shiming.createCase(token, ["program": "online-education"])
            let photo = TestFiles.png(width: 1200, height: 800)
            let big = TestFiles.jpegHeader(width: 1600, height: 1200) + Data(repeating: 0x55, count: 6_000_000)
            let (bigHeaders, bigBody) = TestFiles.multipart(file: big, filename: "big.jpg", fields: ["kind": "id_front"])
            let tooLarge = try await postDocument(shiming, token, item.id, bigBody, bigHeaders)
            #expect(tooLarge.status == .unprocessableEntity && tooLarge.apiError?.fields?["file"] == "file_too_large", "\(tooLarge.text)")

            let (unknownHeaders, unknownBody) = TestFiles.multipart(file: photo, fields: ["kind": "id_front", "colour": "red"])
            let unknown = try await postDocument(shiming, token, item.id, unknownBody, unknownHeaders)
            #expect(unknown.apiError?.code == "unknown_field" && unknown.apiError?.fields?["colour"] == "unknown_field", "\(unknown.text)")

            let (replaceHeaders, replaceBody) = TestFiles.multipart(file: photo, fields: ["kind": "id_front", "replace": "AAA"])
            let replace = try await postDocument(shiming, token, item.id, replaceBody, replaceHeaders)
            #expect(replace.apiError?.fields?["replace"] == "invalid_value", "\(replace.text)")

            let (cutHeaders, whole) = TestFiles.multipart(file: photo, fields: ["kind": "id_front"])
            let cut = try await postDocument(shiming, token, item.id, ByteBuffer(bytes: whole.readableBytesView.dropLast(40)), cutHeaders)
            #expect(cut.apiError?.fields?["file"] == "invalid_format", "\(cut.text)")

            let (noFileHeaders, noFileBody) = TestFiles.multipart(file: Data(), fields: ["kind": "id_front"])
            let noFile = try await postDocument(shiming, token, item.id, noFileBody, noFileHeaders)
            #expect(noFile.apiError?.fields?["file"] == "required", "\(noFile.text)")

            #expect(storedObjects(shiming).isEmpty)
            #expect(try await shiming.getCase(token, item.id).documents.isEmpty)
            // And the same upload, well-formed, is taken.
            let (headers, body) = TestFiles.multipart(file: photo, fields: ["kind": "id_front"])
            #expect(try await postDocument(shiming, token, item.id, body, headers).status == .created)
            #expect(storedObjects(shiming).count == 1)
        }
    }
}

@Suite("Counters past their windows are pruned")
struct CounterPruningTests {
    func rows(_ shiming: TestShiming, _ table: String) async throws -> Int {
        try await shiming.db.sql().raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()?.decode(column: "n", as: Int.self) ?? -1
    }

    @Test("Two days after their last use, sign-in and code counters are removed by the sweep (fresh ones stay, one audit event), and the limits then behave as for a first request")
    func prune() async throws {
        try await withShiming { shiming in
            _ = try await shiming.activeApplicant(phone: "13800138000")
            for _ in 0..<3 { _ = try await shiming.send(.POST, "/api/v1/sessions", json: ["login": "13800138000", "password": "wrong-Passw0rd!"]) }
            let oldLimits = try await rows(shiming, "limit_windows"), oldThrottles = try await rows(shiming, "sign_in_throttles")
            #expect(oldLimits > 0 && oldThrottles > 0)
            #expect(try await shiming.app.features.accounts.pruneCounters() == 0, "nothing is old yet")

            shiming.clock.advance(by: 2 * 86_400 + 60)
            let fresh = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13900139001", "purpose": "reset_password"])
            #expect(fresh.status == .accepted, "\(fresh.text)")
            let freshLimits = try await rows(shiming, "limit_windows") - oldLimits
            #expect(freshLimits > 0)
            #expect(try await shiming.app.features.accounts.pruneCounters() == oldLimits + oldThrottles)
            #expect(try await rows(shiming, "limit_windows") == freshLimits)
            #expect(try await rows(shiming, "sign_in_throttles") == 0)
            let events = try await AuditLog.latest(5, on: shiming.db).filter { $0.action == "counters.pruned" }
            #expect(events.count == 1 && events[0].details.contains("\"rows\":\"\(oldLimits + oldThrottles)\""))
            // The destination whose row went is served as a first request.
            let again = try await shiming.send(.POST, "/api/v1/codes", json: ["channel": "sms", "destination": "13800138000", "purpose": "reset_password"])
            #expect(again.status == .accepted, "\(again.text)")
        }
    }
}
