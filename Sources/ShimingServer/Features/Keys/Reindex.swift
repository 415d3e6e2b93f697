import Crypto
import Foundation
import IdentityRules
import ShimingCore

/// Rotating the blind-index key (`shiming keys reindex`). The new key is pinned in the key file
/// and the old one kept as `previous blind-index`; from then on (running servers re-read the
/// file within a second) rows are written with the new key's index and lookups accept either.
/// Then every indexed column is walked in id order: each value is opened and the row's index
/// swapped from the old key's to the new key's where the row still holds the old one, with the
/// limit windows and identity codes kept under it. A pass that leaves nothing behind ends the
/// re-index: the old key leaves the file.
struct ReindexService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    var store: Store { stores() }
    var masters: MasterKeys { context.masterKeys }
    var now: Date { context.services.clock.now() }

    /// What a pass did.
    struct Progress: Sendable, Equatable {
        var checked = 0
        var replaced = 0
        /// Rows still holding the old key's index: another row holds the new one (a unique
        /// index), or the row changed meanwhile (the next pass looks again).
        var kept = 0
        /// Rows whose value does not open or whose index is neither key's index of it: they
        /// are left as they are and counted.
        var unreadable = 0
        /// One-time codes ended when the re-index finished.
        var codesEnded = 0

        static func += (total: inout Progress, step: Progress) {
            total.checked += step.checked
            total.replaced += step.replaced
            total.kept += step.kept
            total.unreadable += step.unreadable
        }
    }

    static let begunAction = "keys.reindex_started"
    /// How long after a re-index begins running servers may still write the old key's index:
    /// they re-read the key file at most a second after it changes.
    static let settling: TimeInterval = 2

    /// Whether a re-index has begun and not finished.
    var isRunning: Bool { masters.file.previousIndex != nil }

    /// Puts a new blind-index key in the key file, keeping the old one as the previous.
    func begin(ip: String? = nil) async throws {
        guard let path = masters.path else { throw KeyRotationService.needsFile }
        guard !isRunning else {
            throw UserFacingError(code: "reindex_running", kind: .conflict, message: LocalizedText(
                "重建索引尚未完成，请运行 `shiming keys reindex --resume`。", "A re-index has not finished; run `shiming keys reindex --resume`."))
        }
        let key = SymmetricKey(data: context.services.random.bytes(32))
        try masters.rewrite(path) { file in
            file.previousIndex = file.pinned[.blindIndex]
            file.pinned[.blindIndex] = key
        }
        try await store.auditAlone(Self.begunAction, actor: .system, subject: "keys", ip: ip, at: now)
    }

    /// Swaps up to `limit` rows of one column after `cursor`; answers what it did and the cursor
    /// to go on from (nil: the column is done).
    func step(_ column: IndexedColumn, after cursor: UUID?, limit: Int) async throws -> (Progress, cursor: UUID?) {
        let (blindIndex, programs) = (context.blindIndex, context.programs)
        let today = ChinaTime.civilDay(now)
        return try await store.transaction { tx in
            var progress = Progress()
            guard let previous = blindIndex.previousIndexer(domain: column.domain) else { return (progress, nil) }
            let current = blindIndex.indexer(domain: column.domain)
            let rows = try await tx.reindex.rows(column, after: cursor, limit: limit)
            for row in rows {
                progress.checked += 1
                guard let value = Self.value(of: row, in: column, programs: programs, today: today) else {
                    progress.unreadable += 1
                    continue
                }
                let (old, new) = (previous.index(value), current.index(value))
                if row.index == new { continue }
                guard row.index == old else {
                    progress.unreadable += 1
                    continue
                }
                if try await tx.reindex.replace(column, id: row.id, old: old, new: new) {
                    progress.replaced += 1
                } else {
                    progress.kept += 1
                }
            }
            return (progress, rows.count < limit ? nil : rows.last?.id)
        }
    }

    /// The indexed value a row holds: a contact as sealed, the number of a roster line or of a
    /// case's application (read as its program reads it). The roll's lines have `rosterStep`.
    static func value(of row: IndexedRow, in column: IndexedColumn, programs: ProgramCatalog, today: CivilDate) -> String? {
        guard let plaintext = row.plaintext else { return nil }
        switch column.holds {
        case .application:
            guard let program = row.extra.flatMap({ programs[$0] }),
                  let app = try? DirectJSON.decode(CaseApplication.self, from: plaintext, iso8601Dates: false) else { return nil }
            return CaseEvaluator(program: program, today: today).identityNumber(app)?.number
        case .value:
            return String(data: plaintext, encoding: .utf8)
        }
    }

    /// Swaps up to `limit` roll lines after `cursor` (their own ids, integers): each line is
    /// opened, and where it holds the old key's index of its number it takes the new one, sealed
    /// again since its sealing binds the index.
    func rosterStep(after cursor: Int64?, limit: Int) async throws -> (Progress, cursor: Int64?) {
        let (blindIndex, random) = (context.blindIndex, context.services.random)
        return try await store.transaction { tx in
            var progress = Progress()
            guard let previous = blindIndex.previousIndexer(domain: CaseService.numberDomain) else { return (progress, nil) }
            let current = blindIndex.indexer(domain: CaseService.numberDomain)
            let cipher = tx.roster.cipher
            let sealer = cipher.binarySealer()
            let lines = try await tx.roster.stored(after: cursor, limit: limit)
            let nonces = random.bytes(12 * lines.count)
            for (position, line) in lines.enumerated() {
                progress.checked += 1
                guard let fields = try? cipher.openBinary(line.data, authenticating: line.context),
                      let number = RosterLine(packed: fields, school: line.school)?.number else {
                    progress.unreadable += 1
                    continue
                }
                let (old, new) = (previous.shortIndex(number), current.shortIndex(number))
                if line.index == new { continue }
                guard line.index == old else {
                    progress.unreadable += 1
                    continue
                }
                let sealed = try sealer.seal(fields, nonce: FieldCipher.nonce(position, of: nonces),
                                             authenticating: RosterLine.context(importID: line.importID, school: line.school, index: new))
                if try await tx.roster.replace(line, index: new, data: sealed) {
                    progress.replaced += 1
                } else {
                    progress.kept += 1
                }
            }
            return (progress, lines.count < limit ? nil : lines.last?.id)
        }
    }

    /// The name the roll's lines are reported under.
    static let rosterName = "roster_lines.number_index"

    /// One pass over every indexed column, then the roll's lines, in batches of `limit`,
    /// reporting each batch by the column's name.
    func pass(limit: Int, report: (String, Progress) -> Void = { _, _ in }) async throws -> Progress {
        var total = Progress()
        for column in IndexedColumn.all {
            total += try await walk(column.name, report: report) { try await step(column, after: $0, limit: limit) }
        }
        total += try await walk(Self.rosterName, report: report) { try await rosterStep(after: $0, limit: limit) }
        return total
    }

    /// Runs `step` from the start of a column until it gives no cursor, reporting each batch.
    private func walk<Cursor>(_ name: String, report: (String, Progress) -> Void,
                              step: (Cursor?) async throws -> (Progress, cursor: Cursor?)) async throws -> Progress {
        var cursor: Cursor?
        var done = Progress()
        repeat {
            let (progress, next) = try await step(cursor)
            done += progress
            cursor = next
            report(name, done)
        } while cursor != nil
        return done
    }

    /// Runs passes until one finds every row already under the new key (at most three: the
    /// second sees what was written meanwhile by work begun before the switch, such as a long
    /// roll import), then drops the old key from the file. Refuses to finish while rows remain
    /// under the old key, naming how many.
    func run(limit: Int, ip: String? = nil, report: (Int, String, Progress) -> Void = { _, _, _ in }) async throws -> Progress {
        guard let path = masters.path else { throw KeyRotationService.needsFile }
        var total = Progress()
        guard isRunning else { return total }
        for number in 1...3 {
            let progress = try await pass(limit: limit) { report(number, $0, $1) }
            total.replaced += progress.replaced
            (total.checked, total.kept, total.unreadable) = (progress.checked, progress.kept, progress.unreadable)
            if progress.kept == 0, progress.replaced == 0 { break }
        }
        guard total.kept == 0 else {
            throw UserFacingError(code: "reindex_incomplete", kind: .conflict, message: LocalizedText(
                "仍有 \(total.kept) 行无法改用新索引（另一行已持有同一值的新索引）；旧索引密钥保留，查找照常。",
                "\(total.kept) rows could not take the new index (another row holds the same value's new index); the old index key stays and lookups work as before."))
        }
        // Codes sent before the servers switched keys carry the old index in their hash; they
        // end here (their holders ask for a new one), so no old index outlives the key.
        if let begun = try await store.reindex.begunAt() {
            total.codesEnded = try await store.transaction { tx in
                try await tx.reindex.removeCodes(issuedBefore: begun.addingTimeInterval(Self.settling))
            }
        }
        try masters.rewrite(path) { $0.previousIndex = nil }
        try await store.auditAlone("keys.reindexed", actor: .system, subject: "keys", ip: ip,
                                   details: ["replaced": String(total.replaced), "unreadable": String(total.unreadable),
                                             "codesEnded": String(total.codesEnded)], at: now)
        return total
    }
}
