import Foundation
import IdentityRules
import ShimingCore

/// Registration, contact confirmation, codes and sign-in: the account rules, with every state
/// change, its audit event and its messages written in one transaction.
struct AccountService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let hasher: any PasswordHasher
    let codes: CodeService
    let passwords = PasswordPolicy()
    let throttle = SignInThrottle()
    let slowdown = SignInSlowdown()

    /// An account as the audit chain names it; also the key of its sign-in throttle.
    static func subject(_ id: UUID) -> String { "account:\(id.lowercasedText)" }

    init(context: ShimingContext, stores: @escaping StoreProvider) {
        self.context = context
        self.stores = stores
        hasher = context.passwordHasher
        codes = CodeService(context: context)
    }

    var store: Store { stores() }
    var now: Date { context.services.clock.now() }

    /// An account by id; nil when there is none.
    func account(_ id: UUID) async throws -> Account? { try await store.accounts.find(id) }

    func phoneIndex(_ phone: String) -> IndexProbe { context.blindIndex.phone(phone) }
    func emailIndex(_ email: String) -> IndexProbe { context.blindIndex.email(email) }

    // MARK: Registration

    struct Registration: Codable, Sendable {
        var username: String?
        var phone: String?
        var email: String?
        var password: String
        var guardianPhone: String?
        var acceptTerms: Bool?
        /// The separate consent to the processing of sensitive data; asked before the first
        /// application when not given here.
        var acceptSensitive: Bool?
    }

    /// Creates an account in `pending_activation` and sends the confirmation codes (and the
    /// e-mail activation link). Bad input is refused with every offending field named.
    func register(_ input: Registration, lang: Lang, ip: String?, client: ConsentService.Client? = nil) async throws -> Account {
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

        // The limits come first, before anything that tells whether a login exists or costs a
        // bcrypt: registering cannot be used to send a stream of messages to someone's phone (a
        // guardian phone may serve several children), to create accounts without end from one
        // address, or to test which phones and names are registered.
        let now = self.now
        let destinations = [phone.map(phoneIndex), guardianPhone.map(phoneIndex), email.map(emailIndex)].compactMap { $0 }
        try await store.transaction { [codes] tx in
            for (offset, index) in destinations.enumerated() {
                try await codes.reserve(destinationIndex: index.stored, ip: offset == 0 ? ip : nil, now: now, in: tx)
            }
        }
        try await refuseDuplicates(username: username, phone: phone, email: email, at: now)
        let passwordHash = try await hasher.hash(input.password)
        let id = UUID()
        let publicURL = context.configuration.publicURL
        let consentTexts = ([.terms, .privacy] + (input.acceptSensitive == true ? [ConsentKind.sensitive] : [])).map { context.consents.text($0) }
        let consentClient = client ?? ConsentService.Client(channel: .api, ip: ip)
        let termsVersion = consentTexts[0].version
        let account = Account(
            id: id, username: username, phone: phone, phoneConfirmed: false, email: email, emailConfirmed: false,
            guardianPhone: guardianPhone, guardianPhoneConfirmed: false, status: .pendingActivation, statusReason: nil,
            kind: .applicant, roles: [], scope: nil, legalName: nil, gender: nil, displayName: nil, locale: lang, createdAt: now
        )
        do {
            try await store.transaction { [self] tx in
                try await releaseStale(phone: phone, email: email, ip: ip, at: now, in: tx)
                try await tx.accounts.insert(account, passwordHash: passwordHash, termsVersion: termsVersion, at: now)
                try await tx.audit(
                    "account.registered", actor: .account(id), subject: AccountService.subject(id), ip: ip,
                    details: [
                        "contacts": [phone.map { _ in "phone" }, email.map { _ in "email" }, guardianPhone.map { _ in "guardian_phone" }]
                            .compactMap { $0 }.joined(separator: ","),
                        "termsVersion": termsVersion,
                    ],
                    at: now
                )
                // A student registered with a guardian's phone: the guardian's code confirms the account and this consent.
                try await ConsentService.record(consentTexts, account: id, givenBy: guardianPhone == nil ? .person : .guardian,
                                                client: consentClient, caseID: nil, at: now, in: tx)
                let minutes = Int(codes.policy.lifetime / 60)
                let confirm = CodePurpose.confirmContact
                if let phone {
                    try await sendCode(to: phoneIndex(phone).stored, channel: "sms", purpose: confirm, accountID: id, ip: ip, now: now, in: tx) { code in
                        OutgoingMessage(channel: .sms, to: phone, template: "contact_code",
                                        text: MessageTemplates.contactCode(code, lang: lang, minutes: minutes), code: code)
                    }
                }
                if let guardianPhone {
                    try await sendCode(to: phoneIndex(guardianPhone).stored, channel: "sms", purpose: confirm, accountID: id, ip: ip, now: now, in: tx) { code in
                        OutgoingMessage(channel: .sms, to: guardianPhone, template: "guardian_code",
                                        text: MessageTemplates.guardianCode(code, lang: lang, minutes: minutes), code: code)
                    }
                }
                if let email {
                    let index = emailIndex(email).stored
                    let token = OpaqueToken.make(codes.random)
                    _ = try await codes.issue(channel: "email", destinationIndex: index, purpose: Self.activationPurpose,
                                              accountID: id, ip: ip, lifetime: 24 * 3600, secret: token, now: now, in: tx)
                    let link = "\(publicURL)/api/v1/accounts/activate?token=\(token)"
                    try await sendCode(to: index, channel: "email", purpose: confirm, accountID: id, ip: ip, now: now, in: tx) { code in
                        OutgoingMessage(
                            channel: .email, to: email, template: "activation", subject: MessageTemplates.activationSubject(lang),
                            text: MessageTemplates.activationText(code: code, link: link, lang: lang),
                            html: MessageTemplates.activationHTML(code: code, link: link, lang: lang), code: code
                        )
                    }
                }
            }
        } catch is DuplicateRow {
            // Two registrations raced for the same name or contact: name the field.
            try await refuseDuplicates(username: username, phone: phone, email: email, at: now)
            throw AccountError.taken("username")
        }
        return account
    }

    static let activationPurpose = "activate_email"

    /// Issues a code for a destination and puts the message carrying it into the outbox, in
    /// the caller's transaction.
    func sendCode(
        to destinationIndex: String, channel: String, purpose: CodePurpose, accountID: UUID, ip: String?, now: Date,
        in tx: Store, message: (String) -> OutgoingMessage
    ) async throws {
        let code = try await codes.issue(channel: channel, destinationIndex: destinationIndex, purpose: purpose.rawValue,
                                         accountID: accountID, ip: ip, now: now, in: tx)
        var carrying = message(code)
        carrying.account = accountID
        try await tx.enqueue(carrying, at: now)
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
    /// Refuses a login name or contact another account holds. A phone or e-mail that an account
    /// registered more than a day ago and never confirmed is not held: it goes to the new
    /// registrant (`releaseStale` takes it over in the registration's transaction), so nobody
    /// can squat someone else's number.
    func refuseDuplicates(username: String?, phone: String?, email: String?, at now: Date) async throws {
        let accounts = store.accounts
        if let username, try await accounts.withUsername(username) != nil { throw AccountError.taken("username") }
        if let phone, let holder = try await accounts.withPhone(phoneIndex(phone)), !Self.isStale(holder, confirmed: holder.phoneConfirmed, at: now) {
            throw AccountError.taken("phone")
        }
        if let email, let holder = try await accounts.withEmail(emailIndex(email)), !Self.isStale(holder, confirmed: holder.emailConfirmed, at: now) {
            throw AccountError.taken("email")
        }
    }

    /// How long an unconfirmed contact stays reserved for the account that registered it.
    static let unconfirmedReservation: TimeInterval = 24 * 3600

    static func isStale(_ holder: Account, confirmed: Bool, at now: Date) -> Bool {
        !confirmed && holder.status == .pendingActivation && holder.createdAt < now.addingTimeInterval(-unconfirmedReservation)
    }

    /// Takes stale unconfirmed reservations of these contacts away from their accounts, audited.
    func releaseStale(phone: String?, email: String?, ip: String?, at now: Date, in tx: Store) async throws {
        let cutoff = now.addingTimeInterval(-Self.unconfirmedReservation)
        for (channel, index) in [("phone", phone.map(phoneIndex)), ("email", email.map(emailIndex))] {
            guard let index, let released = try await tx.accounts.releaseUnconfirmed(channel, index: index, registeredBefore: cutoff) else { continue }
            try await tx.audit("contact.released", actor: .system, subject: AccountService.subject(released), ip: ip,
                               details: ["channel": channel, "reason": "unconfirmed_24h"], at: now)
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
        let index: IndexProbe
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
        try await store.transaction { [self] tx in
            try await codes.reserve(destinationIndex: index.stored, ip: ip, now: now, in: tx)
            var holder = try await accountHolding(index: index, channel: request.channel, in: tx)
            if purpose == .signIn {
                // Only a phone that names one account that may sign in (a guardian phone shared
                // by brothers and sisters does not: they sign in with their usernames).
                let accounts = try await findAccounts(login: destination, in: tx)
                holder = accounts.count == 1 && accounts[0].status.maySignIn
                    ? holder.flatMap { $0.0.id == accounts[0].id ? $0 : nil } : nil
            }
            guard let (holderAccount, role, confirmed) = holder,
                  purpose == .confirmContact ? !confirmed : confirmed else {
                try await codes.recordUnsent(channel: request.channel, destinationIndex: index.stored, purpose: purpose.rawValue, ip: ip, now: now, in: tx)
                return
            }
            let id = holderAccount.id
            let lang = holderAccount.locale
            try await sendCode(to: index.stored, channel: request.channel, purpose: purpose, accountID: id, ip: ip, now: now, in: tx) { code in
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
            try await tx.audit("code.sent", actor: .anonymous, subject: AccountService.subject(id), ip: ip,
                               details: ["channel": request.channel, "purpose": purpose.rawValue], at: now)
        }
    }

    /// The account a destination belongs to, which role it plays, and whether it is confirmed.
    private func accountHolding(index: IndexProbe, channel: String, in store: Store) async throws -> (Account, String, Bool)? {
        if channel == "email" {
            return try await store.accounts.withEmail(index).map { ($0, "self", $0.emailConfirmed) }
        }
        if let own = try await store.accounts.withPhone(index) {
            return (own, "self", own.phoneConfirmed)
        }
        // A guardian's phone may serve several children; the newest registration is the one
        // waiting for its code.
        return try await store.accounts.withGuardianPhone(index, applicantsOnly: false, newestFirst: true, limit: 1).first
            .map { ($0, "guardian", $0.guardianPhoneConfirmed) }
    }

    // MARK: Confirmation

    struct Confirmation: Codable, Sendable {
        var channel: String
        var code: String
    }

    /// Confirms a contact with its code; the account becomes active.
    func confirm(accountID: UUID, _ input: Confirmation, ip: String?) async throws -> Account {
        guard let account = try await store.accounts.find(accountID) else { throw CommonErrors.notFound }
        let indexes: [String]
        switch input.channel {
        case "sms": indexes = [account.phone, account.guardianPhone].compactMap { $0 }.flatMap { phoneIndex($0).accepted }
        case "email": indexes = [account.email].compactMap { $0 }.flatMap { emailIndex($0).accepted }
        default: throw AccountError.invalid(["channel": "invalid_value"])
        }
        let now = self.now
        let outcome = try await store.transaction { [self] tx -> CodeService.Check in
            let check = try await codes.check(code: input.code, destinationIndexes: indexes, purpose: CodePurpose.confirmContact.rawValue,
                                              now: now, in: tx)
            guard case .accepted(let used) = check, let account = try await tx.accounts.find(accountID) else { return check }
            try await markConfirmed(account, destinationIndex: used.destinationIndex, now: now, ip: ip, how: "code", in: tx)
            return check
        }
        switch outcome {
        case .accepted:
            guard let updated = try await store.accounts.find(accountID) else { throw CommonErrors.notFound }
            return updated
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
        let accountID = try await store.transaction { [self] tx -> UUID? in
            guard let used = try await codes.consumeToken(token, purpose: Self.activationPurpose, now: now, in: tx),
                  let id = used.accountID, let account = try await tx.accounts.find(id) else { return nil }
            try await markConfirmed(account, destinationIndex: used.destinationIndex, now: now, ip: ip, how: "link", in: tx)
            return id
        }
        guard let accountID, let account = try await store.accounts.find(accountID) else { throw AccountError.invalidToken }
        return account
    }

    private func markConfirmed(_ account: Account, destinationIndex: String, now: Date, ip: String?, how: String, in tx: Store) async throws {
        // The code's destination may carry the previous key's index while a re-index runs.
        let contact: ContactField? = if let phone = account.phone, phoneIndex(phone).matches(destinationIndex) { .phone }
            else if let email = account.email, emailIndex(email).matches(destinationIndex) { .email }
            else if let guardianPhone = account.guardianPhone, phoneIndex(guardianPhone).matches(destinationIndex) { .guardianPhone }
            else { nil }
        guard let contact else { return }
        try await tx.accounts.confirm(account.id, contact, at: now)
        try await tx.audit("contact.confirmed", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                           details: ["contact": contact.rawValue, "by": how], at: now)
    }
}
