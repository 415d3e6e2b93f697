import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Moving personal values sealed under the master key to their owner's own key.
    var keyMigration: KeyMigrationStore { KeyMigrationStore(db: database, cipher: cipher, keys: keys) }
}

/// A column of personal values sealed one by one: where its owner's id and the id its context
/// binds come from. Every column that holds a person's data is listed here once.
struct SealedColumn: Sendable {
    let table: String
    let column: String
    /// An SQL expression (over the row) giving the owning account's id.
    let owner: String
    /// The column whose id the sealing context binds.
    let contextID: String
    let context: @Sendable (UUID) -> String
    /// An extra condition for the rows whose column is sealed at all.
    var only: String = ""

    static let personal: [SealedColumn] = [
        account("phone"), account("email"), account("guardian_phone"), account("legal_name"),
        SealedColumn(table: "accounts", column: "status_reason", owner: "id", contextID: "id",
                     context: { AccountRecord.context("status_reason", $0) }, only: "status = 'frozen'"),
        SealedColumn(table: "cases", column: "data_sealed", owner: "account_id", contextID: "id", context: StoredCase.dataContext),
        SealedColumn(table: "case_contacts", column: "note_sealed", owner: "(SELECT account_id FROM cases WHERE cases.id = case_contacts.case_id)",
                     contextID: "case_id", context: CaseContactRecord.context),
        changeRequest("new_value"), changeRequest("old_value"), changeRequest("reason"), changeRequest("decision_note"),
        SealedColumn(table: "feedback", column: "text_sealed", owner: "account_id", contextID: "id", context: Feedback.context),
        SealedColumn(table: "feedback", column: "answer_sealed", owner: "account_id", contextID: "id", context: Feedback.context),
        SealedColumn(table: "consent_acceptances", column: "client_sealed", owner: "account_id", contextID: "id",
                     context: ConsentAcceptanceRecord.clientContext),
        SealedColumn(table: "account_freezes", column: "reason_sealed", owner: "account_id", contextID: "account_id",
                     context: AccountFreezeRecord.context),
        SealedColumn(table: "account_freezes", column: "lifted_note_sealed", owner: "account_id", contextID: "account_id",
                     context: AccountFreezeRecord.context),
        SealedColumn(table: "case_appeals", column: "reason_sealed", owner: "account_id", contextID: "case_id", context: CaseAppealRecord.context),
        SealedColumn(table: "outbox_messages", column: "payload", owner: "account_id", contextID: "id", context: Outbox.payloadContext,
                     only: "account_id IS NOT NULL AND channel <> 'webhook'"),
    ]

    /// Columns sealed under the master key that belong to no one person (re-sealed when the
    /// master key is rotated). The school roll's lines, bytes with integer ids, are re-sealed by
    /// `KeyRotationService.resealRoster`.
    static let shared: [SealedColumn] = [
        SealedColumn(table: "platforms", column: "webhook_secret_sealed", owner: "NULL", contextID: "id", context: PlatformRecord.secretContext),
        SealedColumn(table: "platforms", column: "previous_secret_sealed", owner: "NULL", contextID: "id", context: PlatformRecord.secretContext),
        SealedColumn(table: "risk_alerts", column: "note_sealed", owner: "NULL", contextID: "id", context: RiskAlert.context),
        SealedColumn(table: "risk_alerts", column: "resolution_sealed", owner: "NULL", contextID: "id", context: RiskAlert.context),
        SealedColumn(table: "verification_sessions", column: "reference_sealed", owner: "NULL", contextID: "id",
                     context: VerificationSessionRecord.referenceContext),
        SealedColumn(table: "outbox_messages", column: "payload", owner: "NULL", contextID: "id", context: Outbox.payloadContext,
                     only: "(account_id IS NULL OR channel = 'webhook')"),
    ]

    private static func account(_ field: String) -> SealedColumn {
        SealedColumn(table: "accounts", column: field + "_sealed", owner: "id", contextID: "id", context: { AccountRecord.context(field, $0) })
    }

    private static func changeRequest(_ field: String) -> SealedColumn {
        SealedColumn(table: "change_requests", column: field + "_sealed", owner: "account_id", contextID: "id",
                     context: { ChangeRequestRecord.context(field, $0) })
    }
}

/// The statements of the key migration: find values still under the master key, re-seal them
/// under their owner's key, and swap them in only where the row still holds the old value (a
/// value changed meanwhile is left for the next batch), so batches can stop and resume anywhere.
struct KeyMigrationStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let keys: AccountKeys

    /// A value under any master key version: an 8-character key id, then the dot (an account
    /// key's id is 33 characters).
    static let underMaster = "________.%"
    private var masterPrefix: String { Self.underMaster }
    /// Decisions whose note or message is under a master key version.
    private static let decisionUnderMaster: SQLQueryString =
        "(decision_json LIKE '%\"noteSealed\":\"________.%' OR decision_json LIKE '%\"messageSealed\":\"________.%')"

    /// How many values of the column are still sealed under the master key.
    func remaining(_ column: SealedColumn) async throws -> Int {
        try await count(column, matching: masterPrefix)
    }

    /// How many values of the column lie under one master key version.
    func count(_ column: SealedColumn, under keyID: String) async throws -> Int {
        try await count(column, matching: keyID + ".%")
    }

    private func count(_ column: SealedColumn, matching pattern: String) async throws -> Int {
        let row = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM \(ident: column.table) WHERE \(ident: column.column) LIKE \(bind: pattern)
            \(unsafeRaw: column.only.isEmpty ? "" : "AND " + column.only)
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Moves up to `limit` values of the column to their owners' keys, in the order of their
    /// rows' ids after `cursor`; answers how many moved and the cursor to go on from (nil: the
    /// column is done).
    func move(_ column: SealedColumn, after cursor: UUID?, limit: Int) async throws -> (moved: Int, unreadable: Int, cursor: UUID?) {
        try await swap(column, matching: masterPrefix, except: nil, after: cursor, limit: limit) { [keys, cipher] owner in
            guard let owner else { return nil }
            return try await keys.sealing(cipher, for: owner)
        }
    }

    /// Re-seals under the current master key version up to `limit` values of the column that lie
    /// under an older one (ids after `cursor`).
    func reseal(_ column: SealedColumn, after cursor: UUID?, limit: Int) async throws -> (moved: Int, unreadable: Int, cursor: UUID?) {
        try await swap(column, matching: masterPrefix, except: cipher.masterKeyID + ".%", after: cursor, limit: limit) { [cipher] _ in cipher }
    }

    /// The values of the column that match `pattern` (and not `except`), in id order after
    /// `cursor`, each opened and sealed again with the cipher `sealer` gives for the row's owner
    /// (nil: left alone), and swapped in only where the row still holds it. A value that does not
    /// open (damaged) is left as it is and counted, never lost.
    private func swap(_ column: SealedColumn, matching pattern: String, except: String?, after cursor: UUID?, limit: Int,
                      sealer: (UUID?) async throws -> FieldCipher?) async throws -> (moved: Int, unreadable: Int, cursor: UUID?) {
        let sql = try db.sql()
        let after: SQLQueryString = cursor.map { "AND id > \(bind: $0)" } ?? ""
        let besides: SQLQueryString = except.map { "AND \(ident: column.column) NOT LIKE \(bind: $0)" } ?? ""
        let rows = try await sql.raw("""
            SELECT id AS row_id, \(unsafeRaw: column.owner) AS owner, \(ident: column.contextID) AS context_id, \(ident: column.column) AS sealed
            FROM \(ident: column.table) WHERE \(ident: column.column) LIKE \(bind: pattern) \(besides)
            \(unsafeRaw: column.only.isEmpty ? "" : "AND " + column.only) \(after)
            ORDER BY id LIMIT \(bind: limit)
            """).all()
        var (moved, unreadable) = (0, 0)
        for row in rows {
            let rowID = try row.decode(column: "row_id", as: UUID.self)
            guard let sealer = try await sealer(try row.decode(column: "owner", as: UUID?.self)) else { continue }
            let sealed = try row.decode(column: "sealed", as: String.self)
            let context = column.context(try row.decode(column: "context_id", as: UUID.self))
            guard let plaintext = try? cipher.openData(sealed, context: context) else {
                unreadable += 1
                continue
            }
            let updated = try await sql.raw("""
                UPDATE \(ident: column.table) SET \(ident: column.column) = \(bind: try sealer.seal(plaintext, context: context))
                WHERE id = \(bind: rowID) AND \(ident: column.column) = \(bind: sealed) RETURNING id
                """).first()
            if updated != nil { moved += 1 }
        }
        return (moved, unreadable, rows.count < limit ? nil : try rows.last?.decode(column: "row_id", as: UUID.self))
    }

    /// Files, and decisions' words, still under one master key version.
    func filesAndDecisions(under keyID: String) async throws -> Int {
        let files = try await db.sql().raw("SELECT COUNT(*) AS n FROM stored_files WHERE key_id = \(bind: keyID)").first()
        let decisions = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM cases WHERE decision_json LIKE \(bind: "%\"noteSealed\":\"" + keyID + ".%")
               OR decision_json LIKE \(bind: "%\"messageSealed\":\"" + keyID + ".%")
            """).first()
        return try (files?.decode(column: "n", as: Int.self) ?? 0) + (decisions?.decode(column: "n", as: Int.self) ?? 0)
    }

    /// Decisions whose staff note or message to the applicant is still under the master key
    /// (they live inside the decision's JSON).
    func decisionsRemaining() async throws -> Int {
        let row = try await db.sql().raw("""
            SELECT COUNT(*) AS n FROM cases WHERE \(Self.decisionUnderMaster)
            """).first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Re-seals the note and message of up to `limit` decisions under the applicant's key.
    func moveDecisions(limit: Int) async throws -> Int {
        let sql = try db.sql()
        let rows = try await sql.raw("""
            SELECT id, account_id, decision_json FROM cases WHERE \(Self.decisionUnderMaster) LIMIT \(bind: limit)
            """).all()
        var moved = 0
        for row in rows {
            let id = try row.decode(column: "id", as: UUID.self)
            let json = try row.decode(column: "decision_json", as: String.self)
            var decision = try StoredJSON.decode(CaseDecision.self, from: json)
            let sealer = try await keys.sealing(cipher, for: try row.decode(column: "account_id", as: UUID.self))
            func reseal(_ value: String?, _ context: String) throws -> String? {
                guard let value, cipher.isUnderMasterKey(value) else { return value }
                return try sealer.seal(try cipher.openData(value, context: context), context: context)
            }
            let before = decision
            decision.noteSealed = try reseal(decision.noteSealed, StoredCase.noteContext(id))
            decision.messageSealed = try reseal(decision.messageSealed, StoredCase.messageContext(id))
            guard decision != before else { continue }
            let updated = try await sql.raw("""
                UPDATE cases SET decision_json = \(bind: try StoredJSON.text(decision)) WHERE id = \(bind: id) AND decision_json = \(bind: json) RETURNING id
                """).first()
            if updated != nil { moved += 1 }
        }
        return moved
    }

    /// Files still sealed under the master key, oldest first.
    func filesUnderMaster(limit: Int) async throws -> [StoredFile] {
        let ids = try await db.sql().raw("SELECT id FROM stored_files WHERE LENGTH(key_id) = 8 ORDER BY created_at LIMIT \(bind: limit)").all()
            .map { try $0.decode(column: "id", as: UUID.self) }
        guard !ids.isEmpty else { return [] }
        return try await StoredFileRecord.query(on: db).filter(\.$id ~~ ids).sort(\.$createdAt).all().map { try $0.file() }
    }

    func filesUnderMasterCount() async throws -> Int {
        let row = try await db.sql().raw("SELECT COUNT(*) AS n FROM stored_files WHERE LENGTH(key_id) = 8").first()
        return try row?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Records that a file now lies under its owner's key (written as a stream), if its row is
    /// still there.
    func fileMoved(_ file: StoredFile) async throws {
        try await db.sql().raw("""
            UPDATE stored_files SET key_id = \(bind: AccountKey.keyID(of: file.ownerID)), sealing = \(bind: FileSealing.stream.rawValue)
            WHERE id = \(bind: file.id) AND key_id = \(bind: file.keyID)
            """).run()
    }
}
