import Fluent
import Foundation
import ShimingCore

extension Store {
    /// Accounts, opened.
    var accounts: AccountStore { AccountStore(db: database, cipher: cipher) }
}

/// Rows of `accounts` ⇄ `Account` values (personal fields opened and sealed here).
struct AccountStore: Sendable {
    let db: any Database
    let cipher: FieldCipher

    func find(_ id: UUID) async throws -> Account? {
        try await AccountRecord.find(id, on: db)?.account(cipher: cipher)
    }

    /// Sets an account's status and its reason (a freeze's reason is sealed: staff's words
    /// about a person).
    func setStatus(_ id: UUID, to status: AccountStatus, reason: String?, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        record.status = status.rawValue
        record.statusReason = status == .frozen ? try reason.map { try cipher.seal($0, context: AccountRecord.context("status_reason", id)) } : reason
        record.updatedAt = now
        try await record.save(on: db)
    }
}
