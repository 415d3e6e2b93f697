import Crypto
import Fluent
import ShimingCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import SQLKit
import Vapor

/// Signed checkpoints of the audit chain, kept outside the database: `{seq, hash, at, mac}` one
/// per line in `audit-checkpoints.jsonl` in the data directory (and, where configured, a copy
/// elsewhere), the mac an HMAC under the audit key. A database restored from an older backup,
/// truncated, reordered or recomputed no longer reaches or matches the last checkpoint, which
/// `shiming audit verify` reports.
struct AuditCheckpoints: Sendable {
    struct Checkpoint: Codable, Sendable, Equatable {
        var seq: Int64
        var hash: String
        var at: String
        var mac: String
    }

    let files: [String]
    let key: SymmetricKey
    /// Events between two checkpoints written while serving.
    static let every: Int64 = 100

    init(configuration: ShimingConfiguration, keyRing: KeyRing) {
        files = [(configuration.dataDirectory as NSString).appendingPathComponent("audit-checkpoints.jsonl")]
            + (configuration.auditCheckpointCopy.map { [$0] } ?? [])
        key = keyRing.key(for: .auditChain)
    }

    func mac(seq: Int64, hash: String, at: String) -> String {
        Hex.encode(Data(HMAC<SHA256>.authenticationCode(for: Data("\(seq)|\(hash)|\(at)".utf8), using: key)))
    }

    /// Appends a checkpoint of the chain's head to every file.
    func write(seq: Int64, hash: String, at now: Date) throws {
        let at = RFC3339.string(from: now)
        let line = Checkpoint(seq: seq, hash: hash, at: at, mac: mac(seq: seq, hash: hash, at: at))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = try encoder.encode(line)
        data.append(0x0A)
        // Instances sharing a data dir append to the same file.
        for file in files {
            try AppendOnlyFile.append(data, to: file, sync: true)
        }
    }

    enum Reading: Equatable {
        case none
        case last(Checkpoint)
        /// A line whose mac does not verify: written by someone without the key.
        case forged(line: Int, file: String)
    }

    /// The newest checkpoint over all files (the highest sequence number), every line checked.
    func read() -> Reading {
        var newest: Checkpoint?
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n").enumerated() {
                guard let checkpoint = try? JSONDecoder().decode(Checkpoint.self, from: Data(line.utf8)),
                      SecretHasher.equal(checkpoint.mac, mac(seq: checkpoint.seq, hash: checkpoint.hash, at: checkpoint.at)) else {
                    return .forged(line: number + 1, file: file)
                }
                if checkpoint.seq >= (newest?.seq ?? 0) { newest = checkpoint }
            }
        }
        return newest.map { .last($0) } ?? .none
    }

    /// The newest checkpoint's sequence number (0 when there is none or it cannot be read).
    var lastSeq: Int64 {
        if case .last(let checkpoint) = read() { return checkpoint.seq }
        return 0
    }

    /// Writes a checkpoint when the chain has grown by at least `minimum` events since the last.
    @discardableResult
    func writeIfGrown(by minimum: Int64, on db: any Database, at now: Date) async throws -> Bool {
        guard let head = try await AuditLog.latest(1, on: db).first, head.seq - lastSeq >= minimum else { return false }
        try write(seq: head.seq, hash: head.hash, at: now)
        return true
    }

    /// What the chain says against the newest checkpoint: nil when it agrees.
    func problem(on db: any Database) async throws -> String? {
        switch read() {
        case .none: return nil
        case .forged(let line, let file): return "checkpoint line \(line) of \(file) is not signed with this deployment's key"
        case .last(let checkpoint):
            guard let event = try await AuditEventRecord.query(on: db).filter(\.$seq == checkpoint.seq).first()?.event else {
                let head = try await AuditLog.latest(1, on: db).first?.seq ?? 0
                return "the log ends at event \(head) but a checkpoint of \(checkpoint.at) saw event \(checkpoint.seq): events were removed"
            }
            guard event.hash == checkpoint.hash else {
                return "event \(checkpoint.seq) no longer has the hash the checkpoint of \(checkpoint.at) recorded: the chain was rewritten"
            }
            return nil
        }
    }

    /// The guards that make the table append-only, where they are missing.
    static func missingGuards(on db: any Database) async throws -> [String] {
        let sql = try db.sql()
        switch SQLEngine.of(db) {
        case .sqlite:
            let rows = try await sql.raw("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'").all()
            let present = Set(try rows.map { try $0.decode(column: "name", as: String.self) })
            return ["audit_events_no_update", "audit_events_no_delete"].filter { !present.contains($0) }
        case .postgres:
            let rows = try await sql.raw("""
                SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_events'::regclass AND NOT tgisinternal AND tgenabled <> 'D'
                """).all()
            let present = Set(try rows.map { try $0.decode(column: "tgname", as: String.self) })
            return ["audit_events_no_change", "audit_events_no_truncate"].filter { !present.contains($0) }
        }
    }
}

/// Checkpoints while serving: every few seconds when the chain has grown by `AuditCheckpoints.every`
/// events, and once more at shutdown for whatever came after the last one.
enum AuditCheckpointWorker {
    static func make(_ application: Application) -> PeriodicWorker {
        let context = application.shiming
        let checkpoints = AuditCheckpoints(configuration: context.configuration, keyRing: context.keyRing)
        let db = application.db
        return PeriodicWorker(name: "audit-checkpoints", interval: .seconds(10), final: {
            try await checkpoints.writeIfGrown(by: 1, on: db, at: context.services.clock.now())
        }) {
            try await checkpoints.writeIfGrown(by: AuditCheckpoints.every, on: db, at: context.services.clock.now())
        }
    }
}
