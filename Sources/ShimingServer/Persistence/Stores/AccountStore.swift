import Fluent
import Foundation
import ShimingCore
import SQLKit

extension Store {
    /// Accounts, opened.
    var accounts: AccountStore { AccountStore(db: database, cipher: cipher, blindIndex: blindIndex, keys: keys) }
}

extension BlindIndex {
    /// The index a mobile number is found by (own or guardian phone, and code destinations).
    func phone(_ number: String) -> IndexProbe { index(number, domain: "phone") }
    /// The index an e-mail address is found by.
    func email(_ address: String) -> IndexProbe { index(address, domain: "email") }
}

/// Which contact of an account.
enum ContactField: String, Sendable {
    case phone
    case email
    case guardianPhone = "guardian_phone"
}

/// Rows of `accounts` ⇄ `Account` values. Contacts, the legal name and a freeze's reason are
/// sealed here under the account's own key, bound to their column and row, and contacts are
/// blind-indexed; every change is a small update of the fields it concerns, so two changes of
/// one account do not undo each other.
struct AccountStore: Sendable {
    let db: any Database
    let cipher: FieldCipher
    let blindIndex: BlindIndex
    let keys: AccountKeys

    /// Opens rows, their accounts' keys loaded first.
    private func open(_ records: [AccountRecord]) async throws -> [Account] {
        try await open(rows: records.map(AccountRow.init))
    }

    private func open(rows: [AccountRow]) async throws -> [Account] {
        try await keys.prepare(rows.flatMap(\.sealedValues))
        return try rows.map { try $0.account(cipher: cipher) }
    }

    private func open(_ record: AccountRecord?) async throws -> Account? {
        guard let record else { return nil }
        return try await open([record]).first
    }

    /// One account (read without the ORM: every signed-in request does it).
    func find(_ id: UUID) async throws -> Account? {
        let rows = try await db.sql().raw("SELECT \(AccountRow.columns) FROM accounts WHERE id = \(bind: id)").all().map(AccountRow.init(row:))
        return try await open(rows: rows).first
    }

    /// The account and session behind a session token's hash, if the session is live: one
    /// query, on every signed-in request.
    func withSession(tokenHash: String, at now: Date) async throws -> (Account, Session)? {
        guard let row = try await db.sql().raw("""
            SELECT \(AccountRow.columns), sessions.id AS session_id, sessions.kind AS session_kind, sessions.csrf_token AS session_csrf_token,
                   sessions.created_at AS session_created_at, sessions.expires_at AS session_expires_at, sessions.ip AS session_ip
            FROM sessions JOIN accounts ON accounts.id = sessions.account_id
            WHERE sessions.token_hash = \(bind: tokenHash) AND sessions.revoked_at IS NULL AND sessions.expires_at > \(bind: now)
            """).first() else { return nil }
        let account = try AccountRow(row: row)
        guard let opened = try await open(rows: [account]).first else { return nil }
        let session = Session(id: try row.decode(column: "session_id", as: UUID.self), accountID: account.id,
                              kind: try row.decode(column: "session_kind", as: String.self),
                              csrfToken: try row.decode(column: "session_csrf_token", as: String?.self),
                              createdAt: try row.decode(column: "session_created_at", as: Date.self),
                              expiresAt: try row.decode(column: "session_expires_at", as: Date.self), revokedAt: nil,
                              ip: try row.decode(column: "session_ip", as: String?.self))
        return (opened, session)
    }

    /// Several accounts at once, in no particular order.
    func find(_ ids: [UUID]) async throws -> [Account] {
        guard !ids.isEmpty else { return [] }
        return try await open(AccountRecord.query(on: db).filter(\.$id ~~ ids).all())
    }

    /// Active staff accounts holding a role.
    func activeStaff(with role: StaffRole) async throws -> [Account] {
        try await open(staffQuery(with: role).all()).filter { $0.roles.contains(role) }
    }

    /// Active reviewers on duty, with when they went on duty.
    func onDutyReviewers() async throws -> [(Date, Account)] {
        let records = try await staffQuery(with: .reviewer).filter(\.$onDutySince != nil).all()
        return try await zip(records.map { $0.onDutySince ?? .distantPast }, open(records)).filter { $0.1.roles.contains(.reviewer) }
    }

    /// Since when a staff member is on duty (nil: off).
    func onDutySince(_ id: UUID) async throws -> Date? {
        try await AccountRecord.find(id, on: db)?.onDutySince
    }

    /// Puts a staff member on or off duty; answers since when they are on duty (nil: off).
    func setOnDuty(_ id: UUID, _ onDuty: Bool, at now: Date) async throws -> (since: Date?, changed: Bool) {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        if onDuty, let since = record.onDutySince { return (since, false) }
        record.onDutySince = onDuty ? now : nil
        try await record.save(on: db)
        return (record.onDutySince, true)
    }

    /// Active staff rows whose role list names the role (callers check the decoded roles, since
    /// the text match could also hit a longer role name).
    private func staffQuery(with role: StaffRole) -> QueryBuilder<AccountRecord> {
        AccountRecord.query(on: db).filter(\.$kind == Account.Kind.staff.rawValue).filter(\.$roles ~~ role.rawValue)
            .filter(\.$status == AccountStatus.active.rawValue)
    }

    /// The stored password hash (only the account rules read it).
    func passwordHash(of id: UUID) async throws -> String? {
        try await AccountRecord.find(id, on: db)?.passwordHash
    }

    func withUsername(_ username: String) async throws -> Account? {
        try await open(AccountRecord.query(on: db).filter(\.$username == username).first())
    }

    func withPhone(_ index: IndexProbe) async throws -> Account? {
        try await open(AccountRecord.query(on: db).filter(\.$phoneIndex ~~ index.accepted).first())
    }

    func withEmail(_ index: IndexProbe) async throws -> Account? {
        try await open(AccountRecord.query(on: db).filter(\.$emailIndex ~~ index.accepted).first())
    }

    /// The accounts registered with a guardian phone (brothers and sisters may share one).
    func withGuardianPhone(_ index: IndexProbe, applicantsOnly: Bool, newestFirst: Bool, limit: Int) async throws -> [Account] {
        var query = AccountRecord.query(on: db).filter(\.$guardianPhoneIndex ~~ index.accepted)
        if applicantsOnly { query = query.filter(\.$kind == Account.Kind.applicant.rawValue) }
        return try await open(query.sort(\.$createdAt, newestFirst ? .descending : .ascending).limit(limit).all())
    }

    /// The account any of whose contacts has this index.
    func withContact(_ index: IndexProbe) async throws -> Account? {
        try await open(AccountRecord.query(on: db).group(.or) { group in
            group.filter(\.$phoneIndex ~~ index.accepted).filter(\.$emailIndex ~~ index.accepted).filter(\.$guardianPhoneIndex ~~ index.accepted)
        }.first())
    }

    /// Locks the account's row until the transaction ends (PostgreSQL; on SQLite the write gate
    /// already admits one writer): checks of what an account holds then run one at a time.
    func lockRow(_ id: UUID) async throws {
        guard SQLEngine.of(db) == .postgres else { return }
        try await db.sql().raw("SELECT id FROM accounts WHERE id = \(bind: id) FOR UPDATE").run()
    }

    /// Takes an unconfirmed phone or e-mail (`channel`) away from an account that registered it
    /// before `cutoff` and never confirmed it, in one conditional statement; the account's id
    /// when it did.
    func releaseUnconfirmed(_ channel: String, index: IndexProbe, registeredBefore cutoff: Date) async throws -> UUID? {
        let (sealed, indexColumn, confirmed): (String, String, String) = channel == "email"
            ? ("email_sealed", "email_index", "email_confirmed") : ("phone_sealed", "phone_index", "phone_confirmed")
        let row = try await db.sql().raw("""
            UPDATE accounts SET \(ident: sealed) = NULL, \(ident: indexColumn) = NULL
            WHERE \(ident: indexColumn) IN (\(binds: index.accepted)) AND \(ident: confirmed) = \(bind: false)
              AND status = 'pending_activation' AND created_at < \(bind: cutoff)
            RETURNING id
            """).first()
        return try row?.decode(column: "id", as: UUID.self)
    }

    /// Stores a new account; `DuplicateRow` when its login name or a contact is taken meanwhile.
    func insert(_ account: Account, passwordHash: String, termsVersion: String?, at now: Date) async throws {
        let id = account.id
        let cipher = try await keys.sealing(cipher, for: id)
        func seal(_ value: String?, _ field: String) throws -> String? {
            try value.map { try cipher.seal($0, context: AccountRecord.context(field, id)) }
        }
        let record = AccountRecord()
        record.id = id
        record.username = account.username
        record.phoneSealed = try seal(account.phone, "phone")
        record.phoneIndex = account.phone.map { blindIndex.phone($0).stored }
        record.phoneConfirmed = account.phoneConfirmed
        record.emailSealed = try seal(account.email, "email")
        record.emailIndex = account.email.map { blindIndex.email($0).stored }
        record.emailConfirmed = account.emailConfirmed
        record.guardianPhoneSealed = try seal(account.guardianPhone, "guardian_phone")
        record.guardianPhoneIndex = account.guardianPhone.map { blindIndex.phone($0).stored }
        record.guardianPhoneConfirmed = account.guardianPhoneConfirmed
        record.passwordHash = passwordHash
        record.status = account.status.rawValue
        record.statusReason = account.status == .frozen ? try seal(account.statusReason, "status_reason") : account.statusReason
        record.kind = account.kind.rawValue
        record.roles = account.roles.sorted().map(\.rawValue).joined(separator: ",")
        record.scopeSchool = account.scope?.school
        record.scopeGrade = account.scope?.grade
        record.scopeClass = account.scope?.className
        record.legalNameSealed = try seal(account.legalName, "legal_name")
        record.gender = account.gender
        record.displayName = account.displayName
        record.locale = account.locale.rawValue
        record.termsVersion = termsVersion
        record.termsAcceptedAt = termsVersion == nil ? nil : now
        record.createdAt = account.createdAt
        record.updatedAt = now
        do {
            try await record.create(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw DuplicateRow()
        }
    }

    /// Marks a contact confirmed; an account waiting for activation becomes active.
    func confirm(_ id: UUID, _ contact: ContactField, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        switch contact {
        case .phone: record.phoneConfirmed = true
        case .email: record.emailConfirmed = true
        case .guardianPhone: record.guardianPhoneConfirmed = true
        }
        if record.status == AccountStatus.pendingActivation.rawValue { record.status = AccountStatus.active.rawValue }
        record.updatedAt = now
        try await record.save(on: db)
    }

    /// Sets an account's status and its reason (a freeze's reason is sealed: staff's words
    /// about a person).
    func setStatus(_ id: UUID, to status: AccountStatus, reason: String?, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        let cipher = try await keys.sealing(cipher, for: id)
        record.status = status.rawValue
        record.statusReason = status == .frozen ? try reason.map { try cipher.seal($0, context: AccountRecord.context("status_reason", id)) } : reason
        record.updatedAt = now
        try await record.save(on: db)
    }

    /// Stores a new password hash; `unlocking` also ends a protective lock.
    func setPassword(_ id: UUID, hash: String, unlocking: Bool, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        record.passwordHash = hash
        if unlocking, record.status == AccountStatus.locked.rawValue { record.status = AccountStatus.active.rawValue }
        record.updatedAt = now
        try await record.save(on: db)
    }

    /// Changes the login name; `DuplicateRow` when another account took it meanwhile.
    func setUsername(_ id: UUID, to username: String, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        record.username = username
        record.updatedAt = now
        do {
            try await record.save(on: db)
        } catch let error as any DatabaseError where error.isConstraintFailure {
            throw DuplicateRow()
        }
    }

    /// What a verification may change on an account: its kind, legal name and gender, read and
    /// opened alone (inside the write gate, where opening the whole account cost the writer).
    func verifiedIdentity(_ id: UUID) async throws -> VerifiedIdentity? {
        guard let row = try await db.sql().raw("SELECT \(Self.verifiedIdentityColumns) FROM accounts WHERE id = \(bind: id)").first()
        else { return nil }
        return try await verifiedIdentity(id, row: row)
    }

    /// An account's kind, verified name and gender.
    typealias VerifiedIdentity = (kind: Account.Kind, legalName: String?, gender: String?)

    /// The columns `verifiedIdentity(_:row:)` reads.
    static let verifiedIdentityColumns: SQLQueryString = "kind, legal_name_sealed, gender"

    /// The verified identity of account `id` from a row holding `verifiedIdentityColumns`.
    func verifiedIdentity(_ id: UUID, row: some SQLRow) async throws -> VerifiedIdentity {
        let sealed: String? = try row.value("legal_name_sealed")
        try await keys.prepare([sealed])
        let legalName = try sealed.map { try cipher.open($0, context: AccountRecord.context("legal_name", id)) }
        return (Account.Kind(rawValue: try row.value("kind")) ?? .applicant, legalName, try row.value("gender"))
    }

    /// Takes a verified name and gender (given values only), for an account the transaction has
    /// read already (its callers found it there): the write is not read back, so on PostgreSQL
    /// it goes with the transaction's next statement (`runDeferred`).
    func setVerifiedIdentity(_ id: UUID, legalName: String?, gender: String?, at now: Date) async throws {
        // Every verification that changes the name or gender writes here: one plain statement.
        var sets: [SQLQueryString] = ["updated_at = \(bind: now)"]
        if let legalName {
            let sealed = try await keys.sealing(cipher, for: id).seal(legalName, context: AccountRecord.context("legal_name", id))
            sets.append("legal_name_sealed = \(bind: sealed)")
        }
        if let gender { sets.append("gender = \(bind: gender)") }
        try await db.sql().runDeferred("UPDATE accounts SET \(sets.joined(separator: ", ")) WHERE id = \(bind: id)")
    }

    /// Sets the editable profile fields given (a display name of nil clears it).
    func setProfile(_ id: UUID, displayName: String??, locale: Lang?, at now: Date) async throws {
        guard let record = try await AccountRecord.find(id, on: db) else { throw CommonErrors.notFound }
        if let displayName { record.displayName = displayName }
        if let locale { record.locale = locale.rawValue }
        record.updatedAt = now
        try await record.save(on: db)
    }
}
