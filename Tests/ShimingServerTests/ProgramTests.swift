import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

@Suite("Verification programs: presets, YAML files, errors with file and line, the list")
struct ProgramTests {
    @Test("the six presets load and describe P1–P5 as PRODUCT.md does")
    func presets() throws {
        let catalog = try ProgramCatalog.load(directory: nil)
        #expect(catalog.programs.map(\.key) == ["online-education", "credit-bank", "senior-personal", "senior-organisation", "education-card", "e-commerce"])
        let p1 = try #require(catalog["online-education"])
        #expect(p1.review.mode == .always && p1.confirmation?.minutes == 30 && p1.issuesIdentityCode && p1.reverificationMonths == 6)
        let p3 = try #require(catalog["senior-organisation"])
        #expect(p3.subject == .organisation && p3.sections.contains(.organisation) && p3.documents.contains { $0.kind == .businessLicence && $0.required })
        #expect(catalog["senior-personal"]?.applicationLimit == .init(count: 3, days: 7))
        let p4 = try #require(catalog["education-card"])
        #expect(p4.registry.source == .roster && p4.registry.match.contains(.class) && p4.review.routing == .classTeacher)
        #expect(p4.sections == [.school, .guardian])
        #expect(catalog["e-commerce"]?.registry.source == .service)
        for program in catalog.programs { #expect(program.problems().isEmpty, "\(program.key)") }
    }

    func write(_ yaml: String, name: String = "school.yaml") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shiming-programs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try yaml.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        return directory
    }

    static let valid = """
    key: evening-school
    title: {zh-CN: 夜校学员认证, en: Evening school}
    identity:
      documentTypes: [resident, passport]
    sections: [school]
    documents:
      - {kind: id_front, required: true, maxBytes: 2097152}
    review: {routing: class_teacher, dueHours: 24}
    applicationLimit: {count: 2, days: 1}
    """

    @Test("a program file adds a program; one with a preset's key replaces the preset")
    func files() throws {
        let catalog = try ProgramCatalog.load(directory: try write(Self.valid))
        let program = try #require(catalog["evening-school"])
        #expect(program.identity.documentTypes == [.resident, .passport] && program.documents.first?.maxBytes == 2_097_152)
        #expect(program.review.routing == .classTeacher && program.checks == Program.Check.allCases.filter { $0 != .registry })
        #expect(catalog.programs.count == 7)
        let replaced = try ProgramCatalog.load(directory: try write(Self.valid.replacingOccurrences(of: "evening-school", with: "credit-bank")))
        #expect(replaced.programs.count == 6 && replaced["credit-bank"]?.title.zh == "夜校学员认证")
        #expect(replaced.sources["credit-bank"]?.hasSuffix("school.yaml") == true)
    }

    /// Five lines; what a case adds starts on line 6.
    static let base = """
    key: evening-school
    title: {zh-CN: 夜校学员认证, en: Evening school}
    identity:
      documentTypes: [resident, passport]
    sections: [school]

    """

    @Test("invalid files are refused with file, line and field", arguments: [
        ("review:\n  dueHours: soon", "review.dueHours", 7, "whole number"),
        ("registry: {source: roster}", "registry.match", 6, "must name the fields"),
        ("checks: [document_rules, eye_scan]", "checks[1]", 6, "eye_scan"),
        ("reviw: {dueHours: 3}", "reviw", 6, "not a known field"),
        ("documents:\n  - {kind: id_front}\n  - {kind: id_back, maxBytes: 10}", "documents[1].maxBytes", 8, "between 1 KB"),
        ("confirmation: {minutes: 0}", "confirmation.minutes", 6, "between 1"),
        ("review: {routing: class_teacher}\nsubject: organisation", "sections", 5, "organisation section"),
        ("reverificationMonths: 1\nreverificationReminderDays: 30", "reverificationReminderDays", 7, "shorter than"),
    ])
    func invalid(_ extra: String, field: String, line: Int, words: String) throws {
        let directory = try write(Self.base + extra)
        do {
            _ = try ProgramCatalog.load(directory: directory)
            Issue.record("\(field) was accepted")
        } catch let error as ProgramFileError {
            #expect(error.file.hasSuffix("school.yaml"))
            #expect(error.field == field, "\(error)")
            #expect(error.line == line, "\(error)")
            #expect(error.problem.contains(words), "\(error)")
        }
    }

    @Test("broken YAML and a missing key are reported with their line")
    func syntax() throws {
        #expect(throws: ProgramFileError.self) { try ProgramCatalog.load(directory: try write("key: [unclosed\ntitle: x")) }
        do {
            _ = try ProgramCatalog.load(directory: try write("title: x\nidentity: {documentTypes: [resident]}\n"))
            Issue.record("a program without a key was accepted")
        } catch let error as ProgramFileError {
            #expect(error.field == "key" && error.problem == "is required" && error.line == 1)
        }
    }

    @Test("GET /api/v1/programs lists them in the caller's language; /programs shows them")
    func listing() async throws {
        try await withShiming { shiming in
            let zh = try await shiming.send(.GET, "/api/v1/programs")
            #expect(zh.status == .ok)
            let programs = try zh.json([ProgramsController.ProgramBody].self)
            #expect(programs.count == 6 && programs.first?.title == "线上教育学生身份确认")
            #expect(programs.first { $0.key == "senior-personal" }?.requiredFields.contains("address") == true)
            let en = try await shiming.send(.GET, "/api/v1/programs", headers: ["Accept-Language": "en"]).json([ProgramsController.ProgramBody].self)
            #expect(en.first?.title == "Online school student identity")
            let page = try await shiming.send(.GET, "/programs", headers: ["Accept": "text/html"])
            #expect(page.status == .ok && page.text.contains("教育卡学生身份认证") && page.text.contains("营业执照"))
        }
    }
}
