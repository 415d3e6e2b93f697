import Foundation
import Testing
@testable import ShimingServer

/// The shape of the sources (docs/architecture.md), checked so that it cannot drift: short
/// files, a core without the web framework or the database, feature services that reach the
/// database only through `Store` (with MemberImportVisibility a file cannot use Fluent's
/// members without importing Fluent, so its imports say what it can touch).
@Suite("Source layout")
struct LayoutTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func sources(under folder: String) throws -> [(path: String, text: String)] {
        let base = root.appendingPathComponent(folder)
        let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        var found: [(String, String)] = []
        while let url = walker?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            found.append((String(url.path.dropFirst(base.path.count + 1)), try String(contentsOf: url, encoding: .utf8)))
        }
        return found.sorted { $0.0 < $1.0 }
    }

    static func imports(_ text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { line in
            line.hasPrefix("import ") ? String(line.dropFirst("import ".count)).trimmingCharacters(in: .whitespaces) : nil
        })
    }

    /// Controllers, middleware, pages, views and records speak HTTP or SQL by nature; everything else under
    /// Features/ is domain work.
    static func isService(_ path: String) -> Bool {
        let name = (path as NSString).lastPathComponent
        return !["Controller.swift", "Middleware.swift", "Pages.swift", "View.swift", "Views.swift", "Record.swift", "Records.swift"].contains { name.hasSuffix($0) }
            && !name.contains("Pages+") && !name.contains("+View") && !name.contains("+Model")
    }

    @Test("no source file is longer than 400 lines")
    func shortFiles() throws {
        for folder in ["Sources/ShimingServer", "Sources/ShimingCore", "Sources/IdentityRules", "Sources/shiming"] {
            for (path, text) in try Self.sources(under: folder) where !path.hasPrefix("Generated") {
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count
                #expect(lines <= 401, "\(folder)/\(path) has \(lines) lines")
            }
        }
    }

    @Test("route parameters are read through Request.parameter (ShimingResponder leaves Vapor's `parameters` empty)")
    func parametersThroughTheResponder() throws {
        for (path, text) in try Self.sources(under: "Sources/ShimingServer") {
            for word in ["parameters.get(", "parameters.require(", "parameters.getCatchall("] {
                #expect(!text.contains(word), "ShimingServer/\(path) reads `\(word)`: use `parameter(_:)`")
            }
        }
    }

    @Test("ShimingCore imports neither the web framework nor the database")
    func coreIsPlain() throws {
        for (path, text) in try Self.sources(under: "Sources/ShimingCore") {
            let bad = Self.imports(text).intersection(["Vapor", "Fluent", "FluentKit", "SQLKit", "NIOCore", "Plot"])
            #expect(bad.isEmpty, "ShimingCore/\(path) imports \(bad.sorted())")
        }
    }

    @Test("feature services import no Vapor, and reach the database only through Store")
    func servicesOnTheStore() throws {
        var services = 0
        for (path, text) in try Self.sources(under: "Sources/ShimingServer/Features") where Self.isService(path) {
            services += 1
            let imports = Self.imports(text)
            #expect(!imports.contains("Vapor"), "Features/\(path) imports Vapor")
            let database = imports.intersection(["Fluent", "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver"])
            #expect(database.isEmpty, "Features/\(path) imports \(database.sorted())")
            #expect(!text.contains("any Database"), "Features/\(path) handles a database connection")
        }
        #expect(services > 20)
    }

    @Test("migrations are one per numbered file, in the order they run, and keep the names databases recorded")
    func migrations() throws {
        let recorded = ["CreateAuditEvents", "CreateOutboxMessages", "CreateAccounts", "CreateOneTimeCodes", "CreateSessions",
                        "CreateSignInThrottles", "CreateStoredFiles", "CreateChangeRequests", "CreateCases", "CreateReviewTasks",
                        "CreateRosters", "AddCaseReminders", "CreateBackOffice", "CreateExceptions", "AttributeMachineSteps",
                        "CreateRosterClasses"].map { "ShimingServer.\($0)" }
        #expect(ShimingMigrations.all.map(\.name).prefix(recorded.count) == ArraySlice(recorded))
        let files = try Self.sources(under: "Sources/ShimingServer/Persistence/Migrations")
        #expect(files.count == ShimingMigrations.all.count)
        for (position, (path, text)) in files.enumerated() {
            let number = String(format: "%04d_", position + 1)
            #expect(path.hasPrefix(number), "Migrations/\(path) should be numbered \(number)")
            let typeName = String(path.dropFirst(5).dropLast(6))
            #expect(text.contains("struct \(typeName): AsyncMigration") || text.contains("struct \(typeName): PortableStatementsMigration"),
                    "Migrations/\(path) holds \(typeName)")
            #expect(String(describing: type(of: ShimingMigrations.all[position])) == typeName, "Migrations/\(path) runs at \(position + 1)")
        }
    }

    @Test("every Fluent model lives under Persistence/Records")
    func recordsInOnePlace() throws {
        for (path, text) in try Self.sources(under: "Sources/ShimingServer") where !path.hasPrefix("Persistence/Records/") {
            #expect(!text.contains(": Model, @unchecked Sendable"), "\(path) declares a Fluent model")
        }
    }
}
