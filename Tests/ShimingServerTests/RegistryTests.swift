import AsyncHTTPClient
import Fluent
import Foundation
import NIOConcurrencyHelpers
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Registries: the student roll and the third-party identity service")
struct RegistryTests {
    @Test("roster import: rejected lines with reasons, quoted fields and extra columns, a school's re-import replaces its old roll")
    func rosterImport() async throws {
        try await withShiming { shiming in
            let admin = try await shiming.staff([.admin], username: "admin.roster")
            let a = residentID(birth: "20120101", sequence: "011"), b = residentID(birth: "20120202", sequence: "022")
            let c = residentID(birth: "20110303", sequence: "033")
            let first = try await shiming.importRoster("""
            \u{FEFF}student_no,name,id_number,school,grade,class,enrolment_year\r
            1,王一,\(a),"第一中学",初一,1班,2025\r
            2,"李二",\(b),第一中学,初一,1班,2025\r
            3,张,\(c),第一中学,初一,1班,2025\r
            4,赵四,\(c),第一中学,初一,1班,1900\r
            5,钱五,\(c),第二中学,初一,1班,2025\r
            """, admin: admin)
            #expect(first.rows == 5 && first.imported == 3 && first.schools == 2)
            #expect(first.rejected == [.init(line: 4, code: "invalid_length", field: "name"), .init(line: 5, code: "invalid_value", field: "enrolment_year")])
            let index = { (number: String) in shiming.app.shiming.blindIndex.index(number, domain: CaseService.numberDomain) }
            #expect(try await Store(shiming.db, context: shiming.app.shiming).roster.lines(numberIndex: index(a)).first?.extra == ["student_no": "1"])

            // 第一中学 sends a new roll without 王一: the old roll of that school is gone, 第二中学's stays.
            let second = try await shiming.importRoster("name,id_number,school,grade,class,enrolment_year\n李二,\(b),第一中学,初二,1班,2025\n", admin: admin)
            #expect(second.imported == 1)
            #expect(try await Store(shiming.db, context: shiming.app.shiming).roster.lines(numberIndex: index(a)).isEmpty)
            #expect(try await Store(shiming.db, context: shiming.app.shiming).roster.lines(numberIndex: index(b)).map(\.grade) == ["初二"])
            #expect(try await Store(shiming.db, context: shiming.app.shiming).roster.lines(numberIndex: index(c)).map(\.school) == ["第二中学"])

            // Stored compactly: a segment per import and school, the fields sealed as bytes.
            let sql = try #require(shiming.db as? any SQLDatabase)
            let segments = try await sql.raw("SELECT school FROM roster_segments ORDER BY school").all().map { try $0.decode(column: "school", as: String.self) }
            #expect(segments == ["第一中学", "第二中学"], "the replaced roll's segment is gone")
            for row in try await sql.raw("SELECT number_index, data FROM roster_lines").all() {
                let data = try row.decode(column: "data", as: Data.self)
                #expect(try row.decode(column: "number_index", as: Data.self).count == 16 && data.first == 1)
                #expect(data.range(of: Data(b.utf8)) == nil && data.range(of: Data("李二".utf8)) == nil, "nothing in clear")
            }
            // A sealed line moved to another school's segment no longer opens.
            try await sql.raw("""
                UPDATE roster_lines SET segment = (SELECT id FROM roster_segments WHERE school = '第二中学')
                WHERE segment = (SELECT id FROM roster_segments WHERE school = '第一中学')
                """).run()
            await #expect(throws: FieldCipherError.self) { try await Store(shiming.db, context: shiming.app.shiming).roster.lines(numberIndex: index(b)) }

            var headers = shiming.bearer(admin)
            headers.replaceOrAdd(name: .contentType, value: "text/csv")
            let badHeader = try await shiming.app.testing().sendRequest(.POST, "/api/v1/admin/rosters", headers: headers, body: ByteBuffer(string: "name,number\n"))
            #expect(badHeader.status == .unprocessableEntity)
            #expect(badHeader.apiError?.code == "roster_header")
            let empty = try await shiming.app.testing().sendRequest(.POST, "/api/v1/admin/rosters", headers: headers, body: ByteBuffer(string: ""))
            #expect(empty.apiError?.code == "roster_empty")
            let failed = try await RosterImportRecord.query(on: shiming.db).filter(\.$state == "failed").count()
            #expect(failed == 2)
            let events = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "roster.imported").count()
            #expect(events == 2)
        }
    }

    @Test("roll lines stored before the compact form are converted once after the migrations; one that does not open stays and is counted")
    func legacyRollLines() async throws {
        try await withShiming { shiming in
            let sql = try #require(shiming.db as? any SQLDatabase)
            let cipher = shiming.app.shiming.cipher
            let importID = UUID()
            let record = RosterImportRecord()
            (record.id, record.state, record.rows, record.imported, record.rejected, record.actor, record.startedAt) =
                (importID, "complete", 3, 3, 0, "cli:test", shiming.clock.now())
            try await record.create(on: shiming.db)
            let numbers = [residentID(birth: "20120101", sequence: "011"), residentID(birth: "20120202", sequence: "022"),
                           residentID(birth: "20110303", sequence: "033")]
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            var ids: [UUID] = []
            for (position, number) in numbers.enumerated() {
                let id = UUID()
                ids.append(id)
                let line = RosterLine(name: ["王一", "李二", "张三"][position], number: number, school: "第一中学", grade: "初一", class: "1班",
                                      enrolmentYear: 2025, extra: position == 0 ? ["student_no": "S01"] : nil)
                // The third is sealed for another row: damaged.
                let sealed = try cipher.seal(String(decoding: try encoder.encode(line), as: UTF8.self),
                                             context: RosterLine.legacyContext(position == 2 ? UUID() : id))
                try await sql.raw("""
                    INSERT INTO roster_entries (id, import_id, school_key, number_index, data_sealed)
                    VALUES (\(bind: id), \(bind: importID), \(bind: NameMatching.labelKey("第一中学")),
                            \(bind: shiming.app.shiming.blindIndex.index(number, domain: CaseService.numberDomain).stored), \(bind: sealed))
                    """).run()
            }
            let store = Store(shiming.db, context: shiming.app.shiming)
            var cursor: UUID?
            var (converted, unreadable) = (0, 0)
            repeat {
                let step = try await store.roster.convertLegacy(after: cursor, limit: 1, random: shiming.app.shiming.services.random)
                (converted, unreadable, cursor) = (converted + step.converted, unreadable + step.unreadable, step.cursor)
            } while cursor != nil
            #expect(converted == 2 && unreadable == 1)
            let index = { (number: String) in shiming.app.shiming.blindIndex.index(number, domain: CaseService.numberDomain) }
            let first = try await store.roster.lines(numberIndex: index(numbers[0]))
            #expect(first.map(\.name) == ["王一"] && first.first?.extra == ["student_no": "S01"] && first.first?.school == "第一中学")
            #expect(try await store.roster.lines(numberIndex: index(numbers[1])).map(\.enrolmentYear) == [2025])
            let left = try await sql.raw("SELECT id FROM roster_entries").all().map { try $0.decode(column: "id", as: UUID.self) }
            #expect(left == [ids[2]], "the damaged line stays where it was")
            #expect(try await sql.raw("SELECT COUNT(*) AS n FROM roster_segments").first()?.decode(column: "n", as: Int.self) == 1)
            // Run again (as every start does): nothing more moves, nothing is lost.
            try await RosterLegacy.convert(shiming.app)
            #expect(try await store.roster.count(holding: numbers.map { index($0).stored }) == 2)
        }
    }

    /// A local HTTP service standing in for the identity provider.
    final class FakeProvider: Sendable {
        let app: Application
        let hits = NIOLockedValueBox(0)
        let failuresBeforeAnswer = NIOLockedValueBox(0)
        let url: String

        init() async throws {
            app = try await Application.make(.testing)
            app.logger.logLevel = .critical
            let hits = self.hits, failures = failuresBeforeAnswer
            app.post("verify") { req async throws -> Response in
                hits.withLockedValue { $0 += 1 }
                guard req.headers.bearerAuthorization?.token == "secret" else { return Response(status: .unauthorized) }
                struct Query: Content { var xm: String; var sfzh: String }
                let query = try req.content.decode(Query.self)
                let failing = failures.withLockedValue { count -> Bool in
                    guard count > 0 else { return false }
                    count -= 1
                    return true
                }
                if failing { return Response(status: .internalServerError) }
                if query.sfzh == "slow" { try await Task.sleep(for: .seconds(15)) }
                let code = query.sfzh == adultMale ? (query.xm == "周杰" ? "1" : "2") : "3"
                let body = #"{"data":{"code":"\#(code)","diff":["name"]}}"#
                return Response(status: .ok, headers: ["Content-Type": "application/json"], body: .init(string: body))
            }
            try await app.server.start(address: .hostname("127.0.0.1", port: 0))
            let port = try #require(app.http.server.shared.localAddress?.port)
            url = "http://127.0.0.1:\(port)/verify"
        }

        func stop() async throws {
            await app.server.shutdown()
            try await app.asyncShutdown()
        }
    }

    func settings(_ url: String) -> IdentityServiceSettings {
        var settings = IdentityServiceSettings(url: url, token: "secret")
        let configured = try? ShimingConfiguration.fromEnvironment([
            "SHIMING_IDENTITY_SERVICE_URL": url, "SHIMING_IDENTITY_SERVICE_TOKEN": "secret",
            "SHIMING_IDENTITY_SERVICE_MAPPING": #"{"nameField":"xm","numberField":"sfzh","resultPath":"data.code","match":"1","mismatch":"2","notFound":"3","differedPath":"data.diff"}"#,
            // Room for a loaded machine: under the whole suite on PostgreSQL a 2 s limit once cut off
            // a plain answer of this local provider.
            "SHIMING_IDENTITY_SERVICE_TIMEOUT_SECONDS": "5", "SHIMING_IDENTITY_SERVICE_RETRIES": "1",
            "SHIMING_IDENTITY_SERVICE_BREAKER_FAILURES": "2", "SHIMING_IDENTITY_SERVICE_BREAKER_SECONDS": "30",
        ])
        if let configured = configured?.identityService { settings = configured }
        return settings
    }

    @Test("HTTP identity service: mapped request and answer, retries, timeout, circuit breaker")
    func httpService() async throws {
        let provider = try await FakeProvider()
        // (Nothing below throws: the service answers `unavailable` rather than failing.)
        run: do {
            let settings = settings(provider.url)
            #expect(settings.nameField == "xm" && settings.resultPath == "data.code" && settings.retries == 1 && settings.breakerThreshold == 2)
            let clock = ManualClock(testStart)
            let service = HTTPIdentityService(settings: settings, client: HTTPClient.shared, clock: clock)
            #expect(await service.check(name: "周杰", documentNumber: adultMale) == RegistryAnswer(verdict: .match, matched: [.name, .documentNumber]))
            #expect(await service.check(name: "周洁", documentNumber: adultMale) == RegistryAnswer(verdict: .mismatch, matched: [.documentNumber], differed: [.name]))
            #expect(await service.check(name: "周杰", documentNumber: adultFemale).verdict == .notFound)

            // One 500 is retried and the answer still arrives.
            provider.failuresBeforeAnswer.withLockedValue { $0 = 1 }
            let before = provider.hits.withLockedValue { $0 }
            #expect(await service.check(name: "周杰", documentNumber: adultMale).verdict == .match)
            #expect(provider.hits.withLockedValue { $0 } == before + 2)

            // A slow answer times out (each try): unavailable; twice opens the circuit.
            #expect(await service.check(name: "周杰", documentNumber: "slow").verdict == .unavailable)
            provider.failuresBeforeAnswer.withLockedValue { $0 = 10 }
            #expect(await service.check(name: "周杰", documentNumber: adultMale).verdict == .unavailable)
            let open = provider.hits.withLockedValue { $0 }
            #expect(await service.check(name: "周杰", documentNumber: adultMale).verdict == .unavailable)
            #expect(provider.hits.withLockedValue { $0 } == open)  // not even tried
            // After the cool-down one trial call goes out; it succeeds and closes the circuit.
            provider.failuresBeforeAnswer.withLockedValue { $0 = 0 }
            clock.advance(by: 31)
            #expect(await service.check(name: "周杰", documentNumber: adultMale).verdict == .match)
            #expect(service.breaker.current == .closed(failures: 0))
        }
        try await provider.stop()
    }

    @Test("identity service settings: a bad URL, number or mapping key stops the start, naming the variable")
    func settingsErrors() {
        for (variables, variable) in [
            (["SHIMING_IDENTITY_SERVICE_URL": "ftp://x"], "SHIMING_IDENTITY_SERVICE_URL"),
            (["SHIMING_IDENTITY_SERVICE_URL": "http://x", "SHIMING_IDENTITY_SERVICE_RETRIES": "lots"], "SHIMING_IDENTITY_SERVICE_RETRIES"),
            (["SHIMING_IDENTITY_SERVICE_URL": "http://x", "SHIMING_IDENTITY_SERVICE_MAPPING": #"{"nameFeild":"xm"}"#], "SHIMING_IDENTITY_SERVICE_MAPPING"),
        ] {
            #expect(throws: ConfigurationError.self) { try ShimingConfiguration.fromEnvironment(variables) }
            do { _ = try ShimingConfiguration.fromEnvironment(variables) } catch let error as ConfigurationError {
                #expect(error.variable == variable)
            } catch { Issue.record("\(error)") }
        }
    }
}

@Suite("shiming roster import")
struct RosterCommandTests {
    @Test("imports a CSV file into the data dir's database and prints the report; an unreadable file fails")
    func command() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-roster-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let csv = (directory as NSString).appendingPathComponent("roll.csv")
        let good = residentID(birth: "20120101", sequence: "011")
        try "name,id_number,school,grade,class,enrolment_year\n王一,\(good),第一中学,初一,1班,2025\n李二,123,第一中学,初一,1班,2025\n"
            .write(toFile: csv, atomically: true, encoding: .utf8)
        let env = ["SHIMING_DATA_DIR": (directory as NSString).appendingPathComponent("data"), "SHIMING_LOG_LEVEL": "error"]
        let (status, output, errors) = try ShimingExecutable.run(["roster", "import", csv], environment: env)
        let text = String(decoding: output, as: UTF8.self)
        #expect(status == 0, "\(errors)")
        #expect(text.contains("rows 2, imported 1, rejected 1, schools 1"), "\(text)")
        #expect(text.contains("line 3: id_number invalid_length"), "\(text)")
        let (missing, _, _) = try ShimingExecutable.run(["roster", "import", csv + ".nope"], environment: env)
        #expect(missing != 0)
    }
}
