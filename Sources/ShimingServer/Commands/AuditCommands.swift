import Fluent
import Vapor

/// `shiming audit verify`: checks the whole audit chain and exits non-zero when it is broken.
struct AuditCommands: AsyncCommandGroup {
    var help: String { "Audit log tools." }
    var commands: [String: any AnyAsyncCommand] { ["verify": AuditVerifyCommand()] }
}

struct AuditVerifyCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Recomputes every audit event's hash and reports the first break, if any." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.autoMigrate()
        switch try await AuditLog.verify(on: app.db) {
        case .intact(let events, let lastHash):
            context.console.print("Audit chain intact: \(events) events, last hash \(lastHash)")
        case .broken(let seq, let reason):
            context.console.error("Audit chain BROKEN at event \(seq): \(reason)")
            throw AuditChainBroken(seq: seq)
        }
    }

    struct AuditChainBroken: Error, CustomStringConvertible {
        var seq: Int64
        var description: String { "audit chain broken at event \(seq)" }
    }
}
