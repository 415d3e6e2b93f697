import Fluent
import ShimingCore
import Vapor

/// `shiming retention report` and `shiming retention sweep`.
struct RetentionCommands: AsyncCommandGroup {
    var help: String { "Storage limitation: what each program's retention periods remove." }
    var commands: [String: any AnyAsyncCommand] { ["report": RetentionReportCommand(), "sweep": RetentionSweepCommand()] }
}

struct RetentionReportCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Prints what the next retention sweep would delete: per program, the applications whose documents are due and those to shred (ids only)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let plans = try await app.features.retention.plan(at: app.shiming.services.clock.now())
        for line in RetentionReport.lines(plans) { context.console.print(line) }
    }
}

struct RetentionSweepCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Runs the retention sweep now (`serve` runs it once a day)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let result = try await app.features.retention.sweep()
        context.console.print("Documents deleted: \(result.files.count) files of \(result.documentCases.count) applications; applications shredded: \(result.shredded.count)")
    }
}

/// The report's text, for the command and the tests.
enum RetentionReport {
    static func lines(_ plans: [RetentionService.ProgramPlan]) -> [String] {
        var lines: [String] = []
        for plan in plans {
            let retention = plan.retention
            lines.append("\(plan.program) (documents \(retention.documents)d after the decision, rejected/withdrawn/abandoned \(retention.afterRejection)d, expired \(retention.caseData)d):")
            lines.append("  documents: \(plan.documents.flatMap(\.files).count) files of \(plan.documents.count) applications")
            for item in plan.documents { lines.append("    documents \(item.due.caseID.lowercasedText) (\(item.files.count) files)") }
            lines.append("  shred: \(plan.shred.count) applications")
            for item in plan.shred { lines.append("    shred \(item.caseID.lowercasedText) (\(item.state.rawValue))") }
        }
        return lines
    }
}
