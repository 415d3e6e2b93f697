import Fluent
import ShimingCore
import Vapor

/// `shiming audit verify` and `shiming audit checkpoint`.
struct AuditCommands: AsyncCommandGroup {
    var help: String { "Audit log tools." }
    var commands: [String: any AnyAsyncCommand] { ["verify": AuditVerifyCommand(), "checkpoint": AuditCheckpointCommand()] }
}

struct AuditVerifyCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String {
        "Recomputes every audit event's keyed hash, checks the chain against the newest signed checkpoint and that the append-only guards are in place; reports every problem."
    }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let report = try await AuditReport.make(app)
        for line in report.lines { context.console.print(line) }
        for problem in report.problems { context.console.error("Audit log BROKEN: \(problem)") }
        if !report.problems.isEmpty { throw AuditChainBroken(problems: report.problems.count) }
    }

    struct AuditChainBroken: Error, CustomStringConvertible {
        var problems: Int
        var description: String { "the audit log failed \(problems) check(s)" }
    }
}

struct AuditCheckpointCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Writes a signed checkpoint of the audit chain's head now (besides the ones `serve` writes)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let checkpoints = AuditCheckpoints(configuration: app.shiming.configuration, keyRing: app.shiming.keyRing)
        guard let head = try await AuditLog.latest(1, on: app.db).first else {
            context.console.print("The audit log is empty; nothing to checkpoint.")
            return
        }
        try checkpoints.write(seq: head.seq, hash: head.hash, at: app.shiming.services.clock.now())
        context.console.print("Checkpoint written: event \(head.seq), \(checkpoints.files.joined(separator: ", "))")
    }
}

/// Everything `audit verify` checks, for the command and the tests.
struct AuditReport: Sendable {
    var lines: [String] = []
    var problems: [String] = []

    static func make(_ app: Application) async throws -> AuditReport {
        var report = AuditReport()
        let context = app.shiming
        switch try await AuditLog.verify(key: context.keyRing.key(for: .auditChain), on: app.db) {
        case .intact(let events, let lastHash):
            report.lines.append("Audit chain intact: \(events) events, last hash \(lastHash)")
        case .broken(let seq, let reason):
            report.problems.append("event \(seq): \(reason)")
        }
        let checkpoints = AuditCheckpoints(configuration: context.configuration, keyRing: context.keyRing)
        if let problem = try await checkpoints.problem(on: app.db) {
            report.problems.append(problem)
        } else if case .last(let checkpoint) = checkpoints.read() {
            report.lines.append("Agrees with the checkpoint of \(checkpoint.at) at event \(checkpoint.seq)")
        } else {
            report.lines.append("No checkpoint yet (serve writes one every \(AuditCheckpoints.every) events and at shutdown)")
        }
        let missing = try await AuditCheckpoints.missingGuards(on: app.db)
        if !missing.isEmpty { report.problems.append("append-only guards removed: \(missing.joined(separator: ", "))") }
        return report
    }
}
