import Crypto
import Fluent
import Foundation
import ShimingCore
import SQLKit

/// The database as a feature service reaches it: one connection, or one transaction. It hands
/// out the stores (`store.alerts`, `store.feedback`, …), which take and give domain values and
/// keep Fluent, its records and its queries inside `Persistence/`. Services hold a provider and
/// ask it for a fresh handle per operation, so work spreads over the connection pools as a
/// request's own `req.db` does.
struct Store: Sendable {
    /// The connection or transaction. Only code under `Persistence/` uses it.
    let database: any Database
    let gate: WriteGate
    /// Seals and opens personal fields where rows become values and back.
    let cipher: FieldCipher
    /// Indexes personal values that rows are looked up by.
    let blindIndex: BlindIndex
    /// Keys the audit chain.
    let auditKey: MACKey
    /// The accounts' data keys: loaded before rows sealed under them are opened.
    let keys: AccountKeys
    /// The process's batched reads (used only outside transactions).
    let reads: ReadBatches

    /// Runs `body` in one transaction, admitted through the write gate (one writer at a time on
    /// SQLite); everything it writes, audit events included, commits or rolls back together.
    /// `repeatable`: `body` changes nothing but through the transaction (no files, no state in
    /// memory but caches of what it read), so it may run again after a rollback
    /// (`WriteGate.transaction`), and costs PostgreSQL's write chain no savepoint.
    /// `locksChainItself`: `body`'s first statement takes the audit chain's lock
    /// (`AuditChainTail.awaitingLock`). `footprint`: the rows `body` reads or writes that
    /// another transaction may write, as keys (`WriteGate.transaction`). `changesLookups`: false
    /// for the verification queries' records alone (`WriteGate.changes`).
    func transaction<T: Sendable>(repeatable: Bool = false, locksChainItself: Bool = false, footprint: Set<String>? = nil,
                                  changesLookups: Bool = true, _ body: @escaping @Sendable (Store) async throws -> T) async throws -> T {
        try await gate.transaction(on: database, repeatable: repeatable, locksChainItself: locksChainItself, footprint: footprint,
                                   changesLookups: changesLookups) { [self] tx in
            try await body(on(tx))
        }
    }

    /// This store on another connection or transaction of the same database.
    func on(_ database: any Database) -> Store {
        Store(database: database, gate: gate, cipher: cipher, blindIndex: blindIndex, auditKey: auditKey, keys: keys, reads: reads)
    }

    /// This store sealing what it writes under one account's data key (fetch it before the
    /// transaction: `keys.key(for:)` commits a new key on its own).
    func sealing(for key: AccountKey) -> Store {
        Store(database: database, gate: gate, cipher: cipher.sealing(for: key), blindIndex: blindIndex, auditKey: auditKey, keys: keys,
              reads: reads)
    }

    /// Appends an audit event to the chain, in this store's transaction.
    func audit(_ action: String, actor: AuditActor, subject: String? = nil, ip: String? = nil,
               details: [String: String] = [:], at now: Date) async throws {
        try await AuditLog.record(action, actor: actor, subject: subject, ip: ip, details: details, at: now, key: auditKey, on: database)
    }

    /// Appends an audit event that accompanies no other change, in a transaction of its own.
    func auditAlone(_ action: String, actor: AuditActor, subject: String, ip: String? = nil,
                    details: [String: String] = [:], at now: Date) async throws {
        try await AuditLog.recordAlone(action, actor: actor, subject: subject, ip: ip, details: details, at: now, key: auditKey, gate: gate,
                                       on: database)
    }
}

extension Store {
    /// The store on a request's (or a command's) own connection, built from the context.
    init(_ tx: any Database, context: ShimingContext) {
        self.init(database: tx, gate: context.writeGate, cipher: context.cipher, blindIndex: context.blindIndex,
                  auditKey: context.keyRing.macKey(for: .auditChain), keys: context.accountKeys, reads: context.reads)
    }

    /// Puts a message in the outbox, in this store's transaction (sent after it commits).
    @discardableResult
    func enqueue(_ message: OutgoingMessage, at now: Date) async throws -> UUID {
        try await Outbox(cipher: cipher, keys: keys).enqueue(message, at: now, on: database)
    }
}

/// The stores need SQL for their conditional statements; both engines Shiming runs on have it.
enum StoreError: Error {
    case notSQL
}

extension Database {
    /// This connection as SQLKit sees it, for the stores' conditional statements.
    func sql() throws -> any SQLDatabase {
        guard let sql = self as? any SQLDatabase else { throw StoreError.notSQL }
        return sql
    }
}

/// A row that would break a uniqueness rule (two registrations racing for one login name or
/// contact); the service names the field.
struct DuplicateRow: Error {}

/// Where a service gets its store for each operation.
typealias StoreProvider = @Sendable () -> Store
