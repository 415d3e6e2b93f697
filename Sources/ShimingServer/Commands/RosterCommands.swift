import Fluent
import Foundation
import ShimingCore
import Vapor

/// `shiming roster import FILE.csv`.
struct RosterCommands: AsyncCommandGroup {
    var help: String { "Student rolls (学籍库)." }
    var commands: [String: any AnyAsyncCommand] { ["import": ImportRosterCommand()] }
}

struct ImportRosterCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "file", help: "UTF-8 CSV with header name,id_number,school,grade,class,enrolment_year") var file: String
    }

    var help: String { "Imports a student roll; a school's new roll replaces its old one." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        guard let handle = FileHandle(forReadingAtPath: signature.file) else {
            throw ConfigurationError(variable: "FILE", problem: "\(signature.file) cannot be read")
        }
        defer { try? handle.close() }
        let started = Date()
        let chunks = FileChunks(handle: handle)
        do {
            var waited = 0.0
            let report = try await RosterImporter.run(chunks, context: app.shiming, store: Store(app.db, context: app.shiming),
                                                      actor: .cli(ProcessInfo.processInfo.userName), ip: nil) { waited = $0 }
            let seconds = Date().timeIntervalSince(started)
            context.console.print("rows \(report.rows), imported \(report.imported), rejected \(report.rejectedCount), schools \(report.schools), "
                                  + "\(String(format: "%.1f", seconds)) s (\(String(format: "%.1f", waited)) s waiting for the database)")
            for line in report.rejected.prefix(50) {
                context.console.print("line \(line.line): \(line.field ?? "") \(line.code)")
            }
            if report.rejectedCount > 50 { context.console.print("… and \(report.rejectedCount - 50) more rejected lines") }
        } catch let error as UserFacingError {
            context.console.error(error.message(.en))
            throw error
        }
    }
}
