import Foundation
import IdentityRules
import ShimingCore

/// Consent records (PIPL arts. 14, 15, 29, 31): what a person accepted — which text, which
/// version, when, through which client, given by themselves or their guardian — asking again
/// when a text changes, and withdrawal of the sensitive-data consent, which stops the
/// processing of their open applications. Every change is audited in its transaction.
struct ConsentService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    var catalog: ConsentCatalog { context.consents }
    var codes: CodeService {
        CodeService(context: context)
    }
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }

    /// Where a consent was given from: the channel, and the address and browser as evidence.
    struct Client: Sendable {
        var channel: ConsentAcceptance.Channel
        var ip: String?
        var userAgent: String?

        var description: String? {
            let parts = [ip, userAgent.map { String($0.prefix(200)) }].compactMap { $0 }
            return parts.isEmpty ? nil : parts.joined(separator: " · ")
        }
    }

    /// Where a person stands with one consent text.
    struct Status: Sendable {
        enum State: String, Sendable, CaseIterable {
            /// The current text is accepted.
            case accepted
            /// An earlier version is accepted; the current one is not yet.
            case outdated
            /// Never accepted (or, for the sensitive-data consent, not yet asked).
            case missing
            /// Withdrawn by the person.
            case withdrawn
        }

        var text: ConsentText
        var state: State
        /// The acceptance the state rests on (the newest of the kind).
        var latest: ConsentAcceptance?
    }

    static let required = UserFacingError(
        code: "consent_required", kind: .forbidden,
        message: LocalizedText("请先阅读并同意更新后的用户协议、隐私政策或敏感个人信息处理同意书（“我的账号 → 我的同意”）。",
                               "First read and accept the updated terms, privacy policy or sensitive-data consent (My account → My consents).")
    )

    static func sensitiveRequired() -> UserFacingError {
        UserFacingError(
            code: "consent_required", kind: .forbidden,
            message: LocalizedText("办理实名认证需要处理您的证件号码和证件照片，请先单独同意《敏感个人信息处理同意书》。",
                                   "Verification processes your document number and photos: first give your separate consent to the processing of sensitive data."),
            fields: ["acceptSensitive": "required"]
        )
    }

    /// Each text with the person's standing, and every acceptance they gave, newest first.
    func overview(_ account: Account) async throws -> (statuses: [Status], history: [ConsentAcceptance]) {
        let history = try await store.consents.all(account: account.id)
        let statuses = ConsentKind.allCases.map { kind -> Status in
            let text = catalog.text(kind)
            let latest = history.first { $0.kind == kind }
            let state: Status.State = switch latest {
            case nil: .missing
            case let latest? where latest.withdrawnAt != nil: .withdrawn
            case let latest? where latest.textHash == text.hash: .accepted
            default: .outdated
            }
            return Status(text: text, state: state, latest: latest)
        }
        return (statuses, history)
    }

    /// A pupil registered with their guardian's phone: their consents are given by the guardian
    /// (PIPL art. 31), confirmed with a code sent to that phone.
    static func needsGuardian(_ account: Account) -> Bool { account.guardianPhone != nil && account.phone == nil }

    static func codePurpose(_ account: UUID) -> String { "consent:\(account.lowercasedText)" }

    /// Sends the guardian a code that confirms their consent to the texts the pupil has to
    /// accept; answers the masked phone it went to.
    func sendGuardianCode(account: Account, ip: String?) async throws -> String {
        guard Self.needsGuardian(account), let phone = account.guardianPhone else {
            throw UserFacingError(code: "guardian_not_needed", kind: .conflict,
                                  message: LocalizedText("您的账号不需要监护人确认。", "Your account does not need a guardian's confirmation."))
        }
        let index = context.blindIndex.phone(phone)
        let titles = (catalog.pending(account).isEmpty ? [ConsentKind.sensitive] : catalog.pending(account)).map { catalog.text($0).title(account.locale) }
        let now = self.now
        let codes = self.codes
        try await store.transaction { tx in
            try await codes.reserve(destinationIndex: index.stored, ip: ip, now: now, in: tx)
            let code = try await codes.issue(channel: "sms", destinationIndex: index.stored, purpose: Self.codePurpose(account.id),
                                             accountID: account.id, ip: ip, now: now, in: tx)
            let text = MessageTemplates.brand(account.locale) + LocalizedText(
                "您的孩子需要您同意《\(titles.joined(separator: "》《"))》。同意请把验证码 \(code) 告诉孩子并在页面输入，\(Int(codes.policy.lifetime / 60)) 分钟内有效。",
                "Your child needs your consent to: \(titles.joined(separator: "; ")). To agree, give your child the code \(code) to enter; valid for \(Int(codes.policy.lifetime / 60)) minutes.")(account.locale)
            var message = OutgoingMessage(channel: .sms, to: phone, template: "guardian_consent_texts", text: text, code: code)
            message.account = account.id
            try await tx.enqueue(message, at: now)
            try await tx.audit("consent.guardian_code_sent", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                               details: ["guardianPhone": MobileNumber.mask(phone)], at: now)
        }
        return MobileNumber.mask(phone)
    }

    /// Records the person's acceptance of the current version of each kind named; a version
    /// that is not the current one is refused (the text changed while they read it). A text
    /// already accepted as it stands is not recorded twice.
    /// A pupil registered with the guardian's phone needs the guardian's code (`guardianCode`).
    /// With `hashes` (the texts' hashes as shown), words changed under the same version are caught too.
    func accept(_ versions: [ConsentKind: String], hashes: [ConsentKind: String] = [:], account: Account, client: Client,
                guardianCode: String? = nil) async throws {
        var fields: [String: String] = [:]
        for (kind, version) in versions where version != catalog.text(kind).version || hashes[kind].map({ $0 != catalog.text(kind).hash }) == true {
            fields[kind.rawValue] = "outdated"
        }
        guard fields.isEmpty else {
            throw UserFacingError(code: "consent_outdated", kind: .conflict,
                                  message: LocalizedText("这份文本刚刚更新了，请阅读新版本后再同意。", "This text was just updated; read the new version, then accept it."),
                                  fields: fields)
        }
        let texts = versions.keys.sorted { $0.rawValue < $1.rawValue }.map { catalog.text($0) }.filter { account.consents[$0.kind] != $0.hash }
        guard !texts.isEmpty else { return }
        let now = self.now
        guard Self.needsGuardian(account), let guardianPhone = account.guardianPhone else {
            try await store.transaction { tx in
                try await Self.record(texts, account: account.id, givenBy: .person, client: client, caseID: nil, at: now, in: tx)
            }
            return
        }
        guard let guardianCode, !guardianCode.isEmpty else { throw AccountError.invalid(["guardianCode": "required"]) }
        let index = context.blindIndex.phone(guardianPhone)
        let codes = self.codes
        // A wrong code is counted (committed) before it is refused, so guesses run out.
        let check = try await store.transaction { tx -> CodeService.Check in
            let check = try await codes.check(code: guardianCode, destinationIndexes: index.accepted, purpose: Self.codePurpose(account.id), now: now, in: tx)
            if case .accepted = check {
                try await Self.record(texts, account: account.id, givenBy: .guardian, client: client, caseID: nil, at: now, in: tx)
            }
            return check
        }
        switch check {
        case .accepted: return
        case .wrong: throw UserFacingError(code: "invalid_code", kind: .invalidInput, message: AccountError.invalidCode.message, fields: ["guardianCode": "invalid"])
        case .expired: throw UserFacingError(code: "code_expired", kind: .invalidInput, message: AccountError.codeExpired.message, fields: ["guardianCode": "expired"])
        }
    }

    /// Withdraws the sensitive-data consent: the applications still being worked on are
    /// withdrawn (their review tasks cancelled), new ones wait for a new consent. The terms and
    /// the privacy policy cannot be withdrawn while the account is kept. Answers how many
    /// applications were stopped.
    func withdraw(_ kind: ConsentKind, account: Account, client: Client, cases: CaseService) async throws -> Int {
        guard kind == .sensitive else {
            throw UserFacingError(code: "consent_not_withdrawable", kind: .conflict,
                                  message: LocalizedText("用户协议和隐私政策是使用账号的前提，不能单独撤回；如不再同意，请注销账号。",
                                                         "The terms and the privacy policy come with the account and cannot be withdrawn on their own; to stop, close the account."),
                                  fields: ["kind": "not_withdrawable"])
        }
        let now = self.now
        return try await store.transaction { tx in
            guard try await tx.consents.withdraw(kind, account: account.id, at: now) > 0 else { return 0 }
            try await tx.audit("consent.withdrawn", actor: .account(account.id), subject: AccountService.subject(account.id), ip: client.ip,
                               details: ["kind": kind.rawValue, "channel": client.channel.rawValue], at: now)
            var stopped = 0
            for candidate in try await tx.cases.owned(by: account.id, in: CaseState.withdrawable) {
                var record = try await tx.cases.locked(candidate.id, version: candidate.version)
                let effects = try await tx.cases.apply(.withdraw, to: &record, actor: .account(account.id), rule: "consent.withdrawn", at: now)
                try await cases.perform(effects, on: &record, .init(applicant: account, reason: "consent.withdrawn"), at: now, in: tx)
                try await tx.audit("case.withdrawn", actor: .account(account.id), subject: CaseService.subject(record.id), ip: client.ip,
                                   details: ["reason": "consent_withdrawn"], at: now)
                stopped += 1
            }
            return stopped
        }
    }

    /// Records acceptances of these texts in the caller's transaction, each with its audit event.
    static func record(_ texts: [ConsentText], account: UUID, givenBy: ConsentAcceptance.GivenBy, client: Client, caseID: UUID?,
                       at now: Date, in tx: Store) async throws {
        for text in texts {
            try await tx.consents.insert(ConsentAcceptance(
                id: UUID(), accountID: account, kind: text.kind, version: text.version, textHash: text.hash, givenBy: givenBy,
                channel: client.channel, client: client.description, caseID: caseID, acceptedAt: now
            ))
            var details = ["kind": text.kind.rawValue, "version": text.version, "givenBy": givenBy.rawValue, "channel": client.channel.rawValue]
            if let caseID { details["case"] = caseID.lowercasedText }
            try await tx.audit("consent.accepted", actor: .account(account), subject: AccountService.subject(account), ip: client.ip,
                               details: details, at: now)
        }
    }
}
