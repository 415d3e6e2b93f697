import Fluent
import ShimingCore
import Vapor

/// `shiming keys status` and `shiming keys migrate`.
struct KeyCommands: AsyncCommandGroup {
    var help: String { "Encryption keys: what is still sealed under the master key, and moving it to the accounts' own keys." }
    var commands: [String: any AnyAsyncCommand] { ["status": KeyStatusCommand(), "migrate": KeyMigrateCommand()] }
}

struct KeyStatusCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Prints the master key's id, how many accounts have a key of their own, and the personal values and files still under the master key." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.autoMigrate()
        context.console.print("master key: \(app.shiming.keyRing.keyID)")
        context.console.print("account keys: \(try await app.shiming.accountKeys.accountsWithKeys().count)")
        for line in KeyReport.lines(try await app.features.keyMigration.remaining()) { context.console.print(line) }
    }
}

struct KeyMigrateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "batch", help: "Values per batch (default 1000); each batch is committed on its own, so the command can be stopped and run again.")
        var batch: Int?
    }

    var help: String { "Moves personal data still sealed under the master key to each owner's own key, batch by batch, showing progress (`serve` does it a batch a minute)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.autoMigrate()
        let batch = max(1, min(signature.batch ?? 1000, 100_000))
        let service = app.features.keyMigration
        var (values, files) = (0, 0)
        while true {
            let step = try await service.step(limit: batch)
            if step.isEmpty { break }
            values += step.moved
            files += step.files
            context.console.print("moved \(values) values and \(files) files so far")
        }
        context.console.print("done: \(values) values and \(files) files moved")
        for line in KeyReport.lines(try await service.remaining()) { context.console.print(line) }
    }
}

/// What is left under the master key, for the commands.
enum KeyReport {
    static func lines(_ remaining: [(String, Int)]) -> [String] {
        let left = remaining.filter { $0.1 > 0 }
        guard !left.isEmpty else { return ["under the master key: no personal value or file"] }
        return ["still under the master key (`keys migrate` moves them; what it cannot open or place stays, counted here):"] + left.map { "  \($0.0): \($0.1)" }
    }
}
