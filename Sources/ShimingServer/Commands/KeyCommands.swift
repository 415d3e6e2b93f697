import Fluent
import ShimingCore
import Vapor

/// `shiming keys status|migrate|rotate|retire|reindex`.
struct KeyCommands: AsyncCommandGroup {
    var help: String { "Encryption keys: the master key's versions and what lies under each, moving data to the accounts' own keys, rotation, a new blind-index key." }
    var commands: [String: any AnyAsyncCommand] {
        ["status": KeyStatusCommand(), "migrate": KeyMigrateCommand(), "rotate": KeyRotateCommand(), "retire": KeyRetireCommand(),
         "reindex": KeyReindexCommand()]
    }
}

struct KeyStatusCommand: AsyncCommand {
    struct Signature: CommandSignature {}

    var help: String { "Prints the master key's id, how many accounts have a key of their own, and the personal values and files still under the master key." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        context.console.print("account keys: \(try await app.shiming.accountKeys.accountsWithKeys().count)")
        for version in try await app.features.keyRotation.versions() {
            context.console.print("master key \(version.keyID)\(version.current ? " (current)" : ""): \(version.accountKeys) account keys, \(version.values) values, \(version.other) files or decisions")
        }
        for line in KeyReport.lines(try await app.features.keyMigration.remaining()) { context.console.print(line) }
        if app.features.reindex.isRunning {
            context.console.print("blind index: a re-index has not finished; lookups accept the old and the new index (`shiming keys reindex --resume`)")
        }
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
        try await app.shimingMigrate()
        let (batch, service) = (KeyReport.batch(signature.batch), app.features.keyMigration)
        var (values, files) = (0, 0)
        try await KeyReport.untilEmpty({ try await service.step(limit: batch) }, isEmpty: \.isEmpty) { step in
            values += step.moved
            files += step.files
            context.console.print("moved \(values) values and \(files) files so far")
        }
        context.console.print("done: \(values) values and \(files) files moved")
        for line in KeyReport.lines(try await service.remaining()) { context.console.print(line) }
    }
}

struct KeyRotateCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "resume", help: "Make no new version: finish moving what still lies under older ones.")
        var resume: Bool
        @Option(name: "batch", help: "Values per batch (default 1000); each batch is committed on its own.")
        var batch: Int?
    }

    var help: String { "Makes a new master key version (current at once; running servers pick it up within a second), then re-wraps the accounts' keys and re-seals what lies under older versions, batch by batch with progress. Then `keys retire <id>`." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let rotation = app.features.keyRotation
        if !signature.resume {
            context.console.print("new master key version \(try await rotation.rotate()) is current")
        }
        let batch = KeyReport.batch(signature.batch)
        var total = KeyRotationService.Progress()
        try await KeyReport.untilEmpty({ try await rotation.step(limit: batch) }, isEmpty: \.isEmpty) { step in
            total.moved += step.moved
            total.rewrapped += step.rewrapped
            total.resealed += step.resealed
            context.console.print("so far: \(total.rewrapped) account keys re-wrapped, \(total.resealed) values re-sealed, \(total.moved) moved to their owners' keys")
        }
        for version in try await rotation.versions() where !version.current {
            context.console.print(version.inUse
                ? "master key \(version.keyID) still holds \(version.accountKeys) account keys, \(version.values) values, \(version.other) files or decisions"
                : "master key \(version.keyID) is no longer used: `shiming keys retire \(version.keyID)`")
        }
    }
}

struct KeyRetireCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Argument(name: "id", help: "The master key version's id (`keys status` lists them).")
        var id: String
    }

    var help: String { "Removes an older master key version from the key file once nothing lies under it." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        try await app.features.keyRotation.retire(signature.id)
        context.console.print("master key \(signature.id) retired")
    }
}

struct KeyReindexCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Flag(name: "resume", help: "Make no new index key: finish the re-index begun before.")
        var resume: Bool
        @Option(name: "batch", help: "Rows per batch (default 1000); each batch is committed on its own.")
        var batch: Int?
    }

    var help: String { "Makes a new blind-index key (running servers pick it up within a second and accept the old and the new index meanwhile), recomputes every stored index from its sealed value batch by batch with progress, then drops the old key." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let app = context.application
        try await app.shimingMigrate()
        let reindex = app.features.reindex
        if !signature.resume {
            try await reindex.begin()
            context.console.print("new blind-index key in place; waiting for running servers to read it")
            // Servers re-read the key file at most a second after it changes; rows they write
            // from then on carry the new index, so the walk below leaves none behind.
            try await Task.sleep(for: .seconds(ReindexService.settling))
        } else if !reindex.isRunning {
            context.console.print("no re-index to resume")
            return
        }
        let total = try await reindex.run(limit: KeyReport.batch(signature.batch)) { pass, column, done in
            context.console.print("pass \(pass), \(column): \(done.checked) rows checked, \(done.replaced) re-indexed")
        }
        context.console.print("done: \(total.replaced) indexes recomputed, \(total.codesEnded) one-time codes sent before the switch ended (their holders ask for a new one); the old blind-index key has left the key file")
        if total.unreadable > 0 {
            context.console.print("\(total.unreadable) rows could not be read (their value does not open); they keep the old index and are no longer found")
        }
    }
}

/// What is left under the master key, and the batch loop, for the commands.
enum KeyReport {
    /// The batch size asked for, within 1…100000 (default 1000).
    static func batch(_ asked: Int?) -> Int { max(1, min(asked ?? 1000, 100_000)) }

    /// Runs batches until one moves nothing, reporting each.
    static func untilEmpty<Progress>(_ step: () async throws -> Progress, isEmpty: (Progress) -> Bool, _ report: (Progress) -> Void) async throws {
        while true {
            let progress = try await step()
            if isEmpty(progress) { return }
            report(progress)
        }
    }

    static func lines(_ remaining: [(String, Int)]) -> [String] {
        let left = remaining.filter { $0.1 > 0 }
        guard !left.isEmpty else { return ["under the master key: no personal value or file"] }
        return ["still under the master key (`keys migrate` moves them; what it cannot open or place stays, counted here):"] + left.map { "  \($0.0): \($0.1)" }
    }
}
