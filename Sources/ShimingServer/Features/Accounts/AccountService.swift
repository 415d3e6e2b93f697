import Fluent
import Foundation
import IdentityRules
import ShimingCore

/// Registration, contact confirmation, codes and sign-in: the account rules, with every state
/// change, its audit event and its messages written in one transaction.
struct AccountService: Sendable {
    let context: ShimingContext
    let database: DatabaseProvider
    let hasher: any PasswordHasher
    let codes: CodeService
    let passwords = PasswordPolicy()
    let throttle = SignInThrottle()
    let termsVersion = "2026-01"

    /// An account as the audit chain names it; also the key of its sign-in throttle.
    static func subject(_ id: UUID) -> String { "account:\(id.uuidString.lowercased())" }

    init(context: ShimingContext, database: @escaping DatabaseProvider) {
        self.context = context
        self.database = database
        hasher = context.passwordHasher
        codes = CodeService(policy: OneTimeCodePolicy(), secrets: SecretHasher(keyRing: context.keyRing), random: context.services.random)
    }

    var db: any Database { database() }
    var now: Date { context.services.clock.now() }
    var cipher: FieldCipher { context.cipher }
    var outbox: Outbox { Outbox(cipher: context.cipher) }

    func phoneIndex(_ phone: String) -> String { context.blindIndex.index(phone, domain: "phone") }
    func emailIndex(_ email: String) -> String { context.blindIndex.index(email, domain: "email") }

    // MARK: Registration

    struct Registration: Codable, Sendable {
        var username: String?
        var phone: String?
        var email: String?
        var password: String
        var guardianPhone: String?
        var acceptTerms: Bool?
    }

    /// Creates an account in `pending_activation` and sends the confirmation codes (and the
    /// e-mail activation link). Bad input is refused with every offending field named.
    func register(_ input: Registration, lang: Lang, ip: String?) async throws -> Account {
        var fields: [String: String] = [:]
        var username: String?
        if let raw = input.username?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            if Self.isValidUsername(raw) { username = raw.lowercased() } else { fields["username"] = "invalid_format" }
        }
        func contact(_ raw: String?, _ field: String, _ validate: (String) throws(DocumentError) -> String) -> String? {
            guard let raw, !raw.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
            do throws(DocumentError) { return try validate(raw) } catch { fields[field] = error.rawValue; return nil }
        }
        let phone = contact(input.phone, "phone", MobileNumber.validate)
        let email = contact(input.email, "email", EmailAddress.validate)
        let guardianPhone = contact(input.guardianPhone, "guardianPhone", MobileNumber.validate)
        if phone == nil, email == nil, guardianPhone == nil, fields["phone"] == nil, fields["email"] == nil, fields["guardianPhone"] == nil {
            fields["phone"] = "required"  // a contact is needed to confirm the account
        }
        // A student registered with the guardian's phone signs in with the username (the phone
        // may serve brothers and sisters too).
        if guardianPhone != nil || fields["guardianPhone"] != nil, username == nil, fields["username"] == nil { fields["username"] = "required" }
        if input.acceptTerms != true { fields["acceptTerms"] = "required" }
        do throws(PasswordProblem) {
            try passwords.check(input.password, context: [username, phone, email].compactMap { $0 })
        } catch {
            fields["password"] = error.rawValue
        }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }

        try await refuseDuplicates(username: username, phone: phone, email: email)
        let passwordHash = try await hasher.hash(input.password)
        let now = self.now
        let id = UUID()
        let publicURL = context.configuration.publicURL
        let termsVersion = self.termsVersion
        let record: AccountRecord
        do {
            record = try await context.writeGate.transaction(on: db) { [self, username] tx in
                // The same limits as for requested codes: registering cannot be used to send a
                // stream of messages to someone's phone (a guardian phone may serve several
                // children), nor to create accounts without end from one address.
                for index in [phone.map(phoneIndex), guardianPhone.map(phoneIndex), email.map(emailIndex)].compactMap({ $0 }) {
                    try await codes.checkLimits(destinationIndex: index, ip: ip, now: now, in: Store(tx, context: context))
                }
                let record = try newRecord(
                    id: id, username: username, phone: phone, email: email, guardianPhone: guardianPhone,
                    passwordHash: passwordHash, status: .pendingActivation, kind: .applicant, locale: lang, now: now
                )
                record.termsVersion = termsVersion
                record.termsAcceptedAt = now
                try await record.create(on: tx)
                try await AuditLog.record(
                    "account.registered", actor: .account(id), subject: AccountService.subject(id), ip: ip,
                    details: [
                        "contacts": [phone.map { _ in "phone" }, email.map { _ in "email" }, guardianPhone.map { _ in "guardian_phone" }]
                            .compactMap { $0 }.joined(separator: ","),
                        "termsVersion": termsVersion,
                    ],
                    at: now, on: tx
                )
                let minutes = Int(codes.policy.lifetime / 60)
                let confirm = CodePurpose.confirmContact
                if let phone {
                    try await sendCode(to: phoneIndex(phone), channel: "sms", purpose: confirm, accountID: id, ip: ip, now: now, on: tx) { code in
                        OutgoingMessage(channel: .sms, to: phone, template: "contact_code",
                                        text: MessageTemplates.contactCode(code, lang: lang, minutes: minutes), code: code)
                    }
                }
                if let guardianPhone {
                    try await sendCode(to: phoneIndex(guardianPhone), channel: "sms", purpose: confirm, accountID: id, ip: ip, now: now, on: tx) { code in
                        OutgoingMessage(channel: .sms, to: guardianPhone, template: "guardian_code",
                                        text: MessageTemplates.guardianCode(code, lang: lang, minutes: minutes), code: code)
                    }
                }
                if let email {
                    let index = emailIndex(email)
                    let token = OpaqueToken.make(codes.random)
                    _ = try await codes.issue(channel: "email", destinationIndex: index, purpose: Self.activationPurpose,
                                              accountID: id, ip: ip, lifetime: 24 * 3600, secret: token, now: now, in: Store(tx, context: context))
                    let link = "\(publicURL)/api/v1/accounts/activate?token=\(token)"
                    try await sendCode(to: index, channel: "email", purpose: confirm, accountID: id, ip: ip, now: now, on: tx) { code in
                        OutgoingMessage(
                            channel: .email, to: email, template: "activation", subject: MessageTemplates.activationSubject(lang),
                            text: MessageTemplates.activationText(code: code, link: link, lang: lang),
                            html: MessageTemplates.activationHTML(code: code, link: link, lang: lang), code: code
                        )
                    }
                }
                return record
            }
        } catch let error as any DatabaseError where error.isConstraintFailure {
            // Two registrations raced for the same name or contact: name the field.
            try await refuseDuplicates(username: username, phone: phone, email: email)
            throw AccountError.taken("username")
        }
        return try record.account(cipher: cipher)
    }

    static let activationPurpose = "activate_email"

    /// A new account row with its contacts sealed (bound to the row) and blind-indexed.
    func newRecord(
        id: UUID, username: String?, phone: String?, email: String?, guardianPhone: String?, passwordHash: String,
        status: AccountStatus, kind: Account.Kind, locale: Lang, now: Date
    ) throws -> AccountRecord {
        let record = AccountRecord()
        record.id = id
        record.username = username
        record.phoneSealed = try phone.map { try cipher.seal($0, context: AccountRecord.context("phone", id)) }
        record.phoneIndex = phone.map(phoneIndex)
        record.phoneConfirmed = false
        record.emailSealed = try email.map { try cipher.seal($0, context: AccountRecord.context("email", id)) }
        record.emailIndex = email.map(emailIndex)
        record.emailConfirmed = false
        record.guardianPhoneSealed = try guardianPhone.map { try cipher.seal($0, context: AccountRecord.context("guardian_phone", id)) }
        record.guardianPhoneIndex = guardianPhone.map(phoneIndex)
        record.guardianPhoneConfirmed = false
        record.passwordHash = passwordHash
        record.status = status.rawValue
        record.kind = kind.rawValue
        record.roles = ""
        record.locale = locale.rawValue
        record.createdAt = now
        record.updatedAt = now
        return record
    }

    /// Issues a code for a destination and puts the message carrying it into the outbox, in
    /// the caller's transaction.
    func sendCode(
        to destinationIndex: String, channel: String, purpose: CodePurpose, accountID: UUID, ip: String?, now: Date,
        on tx: any Database, message: (String) -> OutgoingMessage
    ) async throws {
        let code = try await codes.issue(channel: channel, destinationIndex: destinationIndex, purpose: purpose.rawValue,
                                         accountID: accountID, ip: ip, now: now, in: Store(tx, context: context))
        try await outbox.enqueue(message(code), at: now, on: tx)
    }

    static func isValidUsername(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...32).contains(bytes.count), let first = bytes.first,
              (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") else { return false }
        return bytes.allSatisfy { byte in
            let lower = byte | 0x20
            return (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
    }

    /// 409 naming the first field already registered.
    func refuseDuplicates(username: String?, phone: String?, email: String?) async throws {
        if let username, try await AccountRecord.query(on: db).filter(\.$username == username).first() != nil {
            throw AccountError.taken("username")
        }
        if let phone, try await AccountRecord.query(on: db).filter(\.$phoneIndex == phoneIndex(phone)).first() != nil {
            throw AccountError.taken("phone")
        }
        if let email, try await AccountRecord.query(on: db).filter(\.$emailIndex == emailIndex(email)).first() != nil {
            throw AccountError.taken("email")
        }
    }

    // MARK: Codes

    struct CodeRequest: Codable, Sendable {
        var channel: String
        var destination: String
        var purpose: String
    }

    /// Sends a code when the destination belongs to an account that may receive one for this
    /// purpose; otherwise records the request and sends nothing. The caller answers 202 either
    /// way, so the answer does not tell who is registered.
    func requestCode(_ request: CodeRequest, ip: String?) async throws {
        var fields: [String: String] = [:]
        let destination: String
        let index: String
        switch request.channel {
        case "sms":
            do throws(DocumentError) { destination = try MobileNumber.validate(request.destination) } catch {
                throw AccountError.invalid(["destination": error.rawValue])
            }
            index = phoneIndex(destination)
        case "email":
            do throws(DocumentError) { destination = try EmailAddress.validate(request.destination) } catch {
                throw AccountError.invalid(["destination": error.rawValue])
            }
            index = emailIndex(destination)
        default:
            fields["channel"] = "invalid_value"
            throw AccountError.invalid(fields)
        }
        guard let purpose = CodePurpose(rawValue: request.purpose), [.confirmContact, .resetPassword, .signIn].contains(purpose),
              purpose != .signIn || request.channel == "sms" else {
            throw AccountError.invalid(["purpose": "invalid_value"])
        }
        let now = self.now
        let minutes = Int(codes.policy.lifetime / 60)
        try await context.writeGate.transaction(on: db) { [self] tx in
            try await codes.checkLimits(destinationIndex: index, ip: ip, now: now, in: Store(tx, context: context))
            var holder = try await accountHolding(index: index, channel: request.channel, on: tx)
            if purpose == .signIn {
                // Only a phone that names one account that may sign in (a guardian phone shared
                // by brothers and sisters does not: they sign in with their usernames).
                let accounts = try await findAccounts(login: destination, on: tx)
                holder = accounts.count == 1 && (AccountStatus(rawValue: accounts[0].status)?.maySignIn ?? false)
                    ? holder.flatMap { $0.0.id == accounts[0].id ? $0 : nil } : nil
            }
            guard let (record, role, confirmed) = holder,
                  purpose == .confirmContact ? !confirmed : confirmed,
                  let id = record.id else {
                try await codes.recordUnsent(channel: request.channel, destinationIndex: index, purpose: purpose.rawValue, ip: ip, now: now, in: Store(tx, context: context))
                return
            }
            let lang = Lang(rawValue: record.locale) ?? .zhCN
            try await sendCode(to: index, channel: request.channel, purpose: purpose, accountID: id, ip: ip, now: now, on: tx) { code in
                let text: String = switch (purpose, role) {
                case (.resetPassword, _): MessageTemplates.resetCode(code, lang: lang, minutes: minutes)
                case (.signIn, _): MessageTemplates.signInCode(code, lang: lang, minutes: minutes)
                case (_, "guardian"): MessageTemplates.guardianCode(code, lang: lang, minutes: minutes)
                default: MessageTemplates.contactCode(code, lang: lang, minutes: minutes)
                }
                return OutgoingMessage(
                    channel: request.channel == "sms" ? .sms : .email, to: destination, template: purpose.rawValue,
                    subject: request.channel == "email" ? MessageTemplates.emailCodeSubject(lang) : nil, text: text, code: code
                )
            }
            try await AuditLog.record("code.sent", actor: .anonymous, subject: AccountService.subject(id), ip: ip,
                                      details: ["channel": request.channel, "purpose": purpose.rawValue], at: now, on: tx)
        }
    }

    /// The account a destination belongs to, which role it plays, and whether it is confirmed.
    private func accountHolding(index: String, channel: String, on db: any Database) async throws -> (AccountRecord, String, Bool)? {
        if channel == "email" {
            return try await AccountRecord.query(on: db).filter(\.$emailIndex == index).first().map { ($0, "self", $0.emailConfirmed) }
        }
        if let own = try await AccountRecord.query(on: db).filter(\.$phoneIndex == index).first() {
            return (own, "self", own.phoneConfirmed)
        }
        // A guardian's phone may serve several children; the newest registration is the one
        // waiting for its code.
        return try await AccountRecord.query(on: db).filter(\.$guardianPhoneIndex == index)
            .sort(\.$createdAt, .descending).first().map { ($0, "guardian", $0.guardianPhoneConfirmed) }
    }

    // MARK: Confirmation

    struct Confirmation: Codable, Sendable {
        var channel: String
        var code: String
    }

    /// Confirms a contact with its code; the account becomes active.
    func confirm(accountID: UUID, _ input: Confirmation, ip: String?) async throws -> Account {
        guard let record = try await AccountRecord.find(accountID, on: db) else { throw CommonErrors.notFound }
        let account = try record.account(cipher: cipher)
        let indexes: [String]
        switch input.channel {
        case "sms": indexes = [account.phone, account.guardianPhone].compactMap { $0 }.map(phoneIndex)
        case "email": indexes = [account.email].compactMap { $0 }.map(emailIndex)
        default: throw AccountError.invalid(["channel": "invalid_value"])
        }
        let now = self.now
        let outcome = try await context.writeGate.transaction(on: db) { [self] tx -> CodeService.Check in
            let check = try await codes.check(code: input.code, destinationIndexes: indexes, purpose: CodePurpose.confirmContact.rawValue,
                                              now: now, in: Store(tx, context: context))
            guard case .accepted(let used) = check, let record = try await AccountRecord.find(accountID, on: tx) else { return check }
            try await markConfirmed(record, destinationIndex: used.destinationIndex, now: now, ip: ip, how: "code", on: tx)
            return check
        }
        switch outcome {
        case .accepted:
            guard let updated = try await AccountRecord.find(accountID, on: db) else { throw CommonErrors.notFound }
            return try updated.account(cipher: cipher)
        case .wrong(let remaining):
            var error = AccountError.invalidCode
            error.message = LocalizedText("验证码不正确，还可以再试 \(remaining) 次。", "The code is not correct; \(remaining) tries left.")
            throw error
        case .expired:
            throw AccountError.codeExpired
        }
    }

    /// Follows an e-mail activation link.
    func activate(token: String, ip: String?) async throws -> Account {
        let now = self.now
        let accountID = try await context.writeGate.transaction(on: db) { [self] tx -> UUID? in
            guard let used = try await codes.consumeToken(token, purpose: Self.activationPurpose, now: now, in: Store(tx, context: context)),
                  let id = used.accountID, let record = try await AccountRecord.find(id, on: tx) else { return nil }
            try await markConfirmed(record, destinationIndex: used.destinationIndex, now: now, ip: ip, how: "link", on: tx)
            return id
        }
        guard let accountID, let record = try await AccountRecord.find(accountID, on: db) else { throw AccountError.invalidToken }
        return try record.account(cipher: cipher)
    }

    private func markConfirmed(_ record: AccountRecord, destinationIndex: String, now: Date, ip: String?, how: String, on tx: any Database) async throws {
        var which = ""
        if record.phoneIndex == destinationIndex { record.phoneConfirmed = true; which = "phone" }
        if record.emailIndex == destinationIndex { record.emailConfirmed = true; which = "email" }
        if record.guardianPhoneIndex == destinationIndex { record.guardianPhoneConfirmed = true; which = "guardian_phone" }
        if record.status == AccountStatus.pendingActivation.rawValue { record.status = AccountStatus.active.rawValue }
        record.updatedAt = now
        try await record.save(on: tx)
        let id = try record.requireID()
        try await AuditLog.record("contact.confirmed", actor: .account(id), subject: AccountService.subject(id), ip: ip,
                                  details: ["contact": which, "by": how], at: now, on: tx)
    }
}
