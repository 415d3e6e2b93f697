import Foundation
import ShimingCore

/// Hosted verification sessions: a platform creates one for its user and sends them to its
/// URL; they sign in or register, apply if they hold no verification the platform accepts (the
/// session waits through review), consent or decline, and go back to the platform's return URL.
/// A session is used once: the first account that opens it owns it.
struct VerificationSessionService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let cases: CaseService
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    var grants: GrantService { GrantService(context: context, stores: stores, cases: cases) }

    /// How long a session's URL works.
    static let lifetime: TimeInterval = 24 * 3600

    static func subject(_ id: UUID) -> String { "verification_session:\(id.lowercasedText)" }

    /// What `POST /api/v1/verification-sessions` takes.
    struct Start: Codable, Sendable {
        var program: String
        var reference: String
        var returnUrl: String
        var locale: String?
    }

    /// What the platform reads back: the session, and once the person granted, the subject it
    /// knows them by and the verification its grant allows.
    struct Reading: Sendable {
        var session: VerificationSession
        var status: VerificationSessionStatus
        var subject: String?
        var verification: VerificationAnswer?
    }

    /// Where the person stands in a session they opened.
    enum Step: Sendable {
        /// Over (verified, declined, expired, cancelled) or someone else's: a clear page.
        case closed(VerificationSessionStatus)
        /// Not signed in: sign in or register first.
        case signIn
        /// Holds a verification the platform accepts: the consent screen.
        case consent(StoredCase)
        /// Has an application under way for one of the platform's programs.
        case waiting(StoredCase)
        /// Nothing yet: apply under the session's program.
        case apply
    }

    func url(_ id: UUID) -> String { context.configuration.publicURL + "/verify/" + id.lowercasedText }

    // MARK: The platform

    func start(_ input: Start, platform: Platform, key: PlatformKey, ip: String?) async throws -> VerificationSession {
        var problems: [String: String] = [:]
        if !platform.programs.contains(input.program) {
            problems["program"] = context.programs[input.program] == nil ? "unknown_program" : "program_not_registered"
        }
        let reference = input.reference.trimmingCharacters(in: .whitespacesAndNewlines)
        if reference.isEmpty || reference.count > 200 { problems["reference"] = reference.isEmpty ? "required" : "too_long" }
        if !platform.redirectURIs.contains(input.returnUrl) { problems["returnUrl"] = "not_registered" }
        if let locale = input.locale, Lang(tag: locale) == nil { problems["locale"] = "invalid_value" }
        guard problems.isEmpty else { throw AccountError.invalid(problems) }
        let now = now
        let session = VerificationSession(
            id: UUID(), platformID: platform.id, program: input.program, reference: reference, returnURL: input.returnUrl,
            locale: input.locale.flatMap { Lang(tag: $0) }?.rawValue, status: .open, createdAt: now, expiresAt: now.addingTimeInterval(Self.lifetime)
        )
        try await store.transaction { tx in
            try await tx.verificationSessions.insert(session)
            try await tx.audit("verification_session.created", actor: .platform(platform.id), subject: Self.subject(session.id), ip: ip,
                               details: ["key": key.id.lowercasedText, "program": session.program], at: now)
        }
        return session
    }

    func read(_ id: UUID, platform: Platform, key: PlatformKey, ip: String?) async throws -> Reading {
        let now = now
        return try await store.transaction { [self] tx in
            guard let session = try await tx.verificationSessions.find(id), session.platformID == platform.id else { throw CommonErrors.notFound }
            var reading = Reading(session: session, status: session.status(at: now))
            if reading.status == .verified, let grantID = session.grantID, let grant = try await tx.grants.find(grantID) {
                reading.subject = grant.subject
                if grant.inForce(at: now), try await tx.grants.recordQuery(grant.id, at: now) {
                    reading.verification = try await grants.answer(grant, platform: platform, in: tx)
                }
            }
            try await tx.audit("verification_session.read", actor: .platform(platform.id), subject: Self.subject(id), ip: ip,
                               details: ["key": key.id.lowercasedText], at: now)
            return reading
        }
    }

    func cancel(_ id: UUID, platform: Platform, key: PlatformKey, ip: String?) async throws -> Reading {
        let now = now
        try await store.transaction { tx in
            guard let session = try await tx.verificationSessions.find(id), session.platformID == platform.id else { throw CommonErrors.notFound }
            guard try await tx.verificationSessions.cancel(id, platform: platform.id, at: now) else {
                throw UserFacingError(code: "session_closed", kind: .conflict,
                                      message: LocalizedText("该核验会话已结束。", "This verification session is already over."))
            }
            try await tx.audit("verification_session.cancelled", actor: .platform(platform.id), subject: Self.subject(session.id), ip: ip,
                               details: ["key": key.id.lowercasedText], at: now)
        }
        return try await read(id, platform: platform, key: key, ip: ip)
    }

    // MARK: The person

    /// The session and its platform for the hosted pages; 404 for an unknown id.
    func find(_ id: UUID) async throws -> (VerificationSession, Platform) {
        let store = store
        guard let session = try await store.verificationSessions.find(id),
              let platform = try await store.platforms.find(session.platformID) else { throw CommonErrors.notFound }
        return (session, platform)
    }

    /// Opens the session for `account` (binding it on first use) and says what comes next.
    func open(_ id: UUID, account: Account?) async throws -> (VerificationSession, Platform, Step) {
        let (session, platform) = try await find(id)
        let now = now
        let status = session.status(at: now)
        if status.isFinal { return (session, platform, .closed(status)) }
        guard let account else { return (session, platform, .signIn) }
        if session.accountID != account.id {
            let bound = try await store.transaction { tx in
                guard try await tx.verificationSessions.bind(id, to: account.id, at: now) else { return false }
                try await tx.audit("verification_session.opened", actor: .account(account.id), subject: Self.subject(id), at: now)
                return true
            }
            guard bound else { return (session, platform, .closed(.cancelled)) }
        }
        let store = store
        if let verified = try await grants.verifiedCase(account: account.id, platform: platform, in: store) {
            return (session, platform, .consent(verified))
        }
        let underWay = try await store.cases.owned(by: account.id, in: CaseState.allCases.filter(\.isOpen))
            .filter { platform.programs.contains($0.program) }
            .max { $0.updatedAt < $1.updatedAt }
        return (session, platform, underWay.map { .waiting($0) } ?? .apply)
    }

    /// The person's answer on the consent screen: a grant for the claims (all the platform
    /// registered when none are named), or a refusal. Either ends the session; the platform is
    /// told by webhook. Returns the session as it ended and the grant, if any.
    func decide(_ id: UUID, account: Account, grant consent: Bool, claims names: [String]? = nil, ip: String?)
        async throws -> (session: VerificationSession, grant: Grant?) {
        let (session, platform) = try await find(id)
        let now = now
        let claims = try names.map { try GrantService.claims($0, allowedBy: platform) } ?? platform.claims
        return try await store.transaction { [self] tx in
            guard session.accountID == account.id, session.status(at: now) == .pending else { throw Self.closed }
            var given: Grant?
            if consent {
                guard try await grants.verifiedCase(account: account.id, platform: platform, in: tx) != nil else { throw GrantService.notVerified }
                given = try await grants.grant(account: account.id, platform: platform, claims: claims, session: id, ip: ip, at: now, in: tx)
            }
            let status: VerificationSessionStatus = consent ? .verified : .declined
            guard try await tx.verificationSessions.complete(id, account: account.id, as: status, grant: given?.id, at: now) else { throw Self.closed }
            try await tx.audit("verification_session.completed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["status": status.rawValue], at: now)
            var data = ["session": id.uuidString, "status": status.rawValue]
            data["subject"] = given?.subject
            try await PlatformEvents.enqueue(PlatformEvents.sessionCompleted, to: platform, data: data, at: now, in: tx)
            var ended = session
            ended.status = status
            ended.grantID = given?.id
            ended.completedAt = now
            return (ended, given)
        }
    }

    /// The sessions waiting for the account (shown on its case pages: "the platform is waiting").
    func waiting(for account: Account) async throws -> [(VerificationSession, Platform)] {
        let store = store
        let sessions = try await store.verificationSessions.waiting(for: account.id, at: now)
        let platforms = try await store.platforms.find(sessions.map(\.platformID))
        return sessions.compactMap { session in platforms[session.platformID].map { (session, $0) } }
    }

    static let closed = UserFacingError(
        code: "session_closed", kind: .conflict,
        message: LocalizedText("这个核验链接已经用过或已失效，请回到原平台重新发起。",
                               "This verification link has been used or has run out; start again from the platform."))
}
