import Crypto
import Foundation
import IdentityRules
import ShimingCore

/// The subject's grants — consent that one platform may ask about them, for which claims, until
/// when — and the verification query platforms ask under them. A platform knows a person by a
/// pairwise subject (a keyed hash of the account and the platform), so two platforms cannot join
/// their users through Shiming.
struct GrantService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let cases: CaseService
    var store: Store { stores() }
    var now: Date { context.services.clock.now() }

    /// How long a grant lasts unless withdrawn.
    static let lifetime: TimeInterval = 365 * 24 * 3600

    static func subject(_ id: UUID) -> String { "grant:\(id.lowercasedText)" }

    /// The identifier `platform` knows `account` by: `sub_` and 32 hex digits.
    func pairwiseSubject(account: UUID, platform: UUID) -> String {
        let message = Data((account.lowercasedText + "\u{1F}" + platform.lowercasedText).utf8)
        let mac = context.keyRing.macKey(for: .pairwiseSubject).code(message)
        return "sub_" + Hex.encode(Data(mac).prefix(16))
    }

    /// What `POST /api/v1/me/grants` takes.
    struct Input: Codable, Sendable {
        var platform: UUID
        var claims: [String]
        var session: UUID?
    }

    /// A grant with its platform, as the person sees it.
    struct Listed: Sendable {
        var grant: Grant
        var platform: Platform?
        var queries: [GrantQueryDay]
    }

    // MARK: The subject

    func list(account: Account) async throws -> [Listed] {
        let store = store
        let grants = try await store.grants.of(account: account.id)
        let platforms = try await store.platforms.find(grants.map(\.platformID))
        let queries = Dictionary(grouping: try await store.grants.queries(of: grants.map(\.id)), by: \.grantID)
        return grants.map { Listed(grant: $0, platform: platforms[$0.platformID], queries: queries[$0.id] ?? []) }
    }

    /// Grants a platform the claims (outside a hosted session, e.g. from an app); the person
    /// must hold a verification the platform accepts.
    func create(account: Account, _ input: Input, ip: String?) async throws -> Grant {
        if let session = input.session {
            guard let found = try await store.verificationSessions.find(session), found.platformID == input.platform else {
                throw AccountError.invalid(["session": "not_found"])
            }
            guard let grant = try await sessions.decide(session, account: account, grant: true, claims: input.claims, ip: ip).grant else {
                throw VerificationSessionService.closed
            }
            return grant
        }
        guard let platform = try await store.platforms.find(input.platform) else { throw AccountError.invalid(["platform": "not_found"]) }
        let claims = try Self.claims(input.claims, allowedBy: platform)
        let now = now
        return try await store.transaction { [self] tx in
            guard try await verifiedCase(account: account.id, platform: platform, in: tx) != nil else { throw Self.notVerified }
            return try await grant(account: account.id, platform: platform, claims: claims, session: nil, ip: ip, at: now, in: tx)
        }
    }

    var sessions: VerificationSessionService { VerificationSessionService(context: context, stores: stores, cases: cases) }

    /// Withdraws one of the account's grants; the platform is told (`grant.revoked`) and its
    /// queries answer 404 from now on.
    func withdraw(_ id: UUID, account: Account, ip: String?) async throws {
        let now = now
        try await store.transaction { tx in
            guard let grant = try await tx.grants.find(id), grant.accountID == account.id else { throw CommonErrors.notFound }
            guard try await tx.grants.revoke(account: account.id, id: id, by: "subject", at: now) == [id] else { return }
            try await tx.audit("grant.withdrawn", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["platform": grant.platformID.lowercasedText], at: now)
            if let platform = try await tx.platforms.find(grant.platformID) {
                try await PlatformEvents.enqueue(PlatformEvents.grantRevoked, to: platform,
                                                 data: ["grant": id.uuidString, "subject": grant.subject], at: now, in: tx)
            }
        }
    }

    /// Writes a grant (replacing the one in force for the same platform), in the caller's transaction.
    func grant(account: UUID, platform: Platform, claims: [PlatformClaim], session: UUID?, ip: String?, at now: Date,
               in tx: Store) async throws -> Grant {
        let replaced = try await tx.grants.revoke(account: account, platform: platform.id, by: "replaced", at: now)
        let grant = Grant(id: UUID(), accountID: account, platformID: platform.id, subject: pairwiseSubject(account: account, platform: platform.id),
                          claims: claims, sessionID: session, grantedAt: now, expiresAt: now.addingTimeInterval(Self.lifetime))
        try await tx.grants.insert(grant)
        try await tx.audit("grant.given", actor: .account(account), subject: Self.subject(grant.id), ip: ip,
                           details: ["platform": platform.id.lowercasedText, "claims": claims.map(\.rawValue).joined(separator: ","),
                                     "replaced": replaced.map { $0.lowercasedText }.joined(separator: ",")], at: now)
        return grant
    }

    static func claims(_ names: [String], allowedBy platform: Platform) throws -> [PlatformClaim] {
        let parsed = names.compactMap(PlatformClaim.init(rawValue:))
        guard parsed.count == names.count else { throw AccountError.invalid(["claims": "unknown_claim"]) }
        guard Set(parsed).isSubset(of: platform.claims) else { throw AccountError.invalid(["claims": "claim_not_registered"]) }
        return Array(Set(parsed + [.verified])).sorted()
    }

    static let notVerified = UserFacingError(
        code: "not_verified", kind: .conflict,
        message: LocalizedText("您还没有该平台认可的有效实名核验。", "You hold no verification this platform accepts."))

    /// The account's verification in force under one of the platform's programs, newest first.
    func verifiedCase(account: UUID, platform: Platform, in tx: Store) async throws -> StoredCase? {
        verification(among: try await tx.cases.owned(by: account, in: [.verified]), platform: platform)
    }

    /// Of a person's verified cases, the newest under one of the platform's programs that has not expired.
    func verification(among verified: [StoredCase], platform: Platform) -> StoredCase? {
        let now = now
        return verified
            .filter { platform.programs.contains($0.program) && ($0.expiresAt.map { $0 > now } ?? true) }
            .max { ($0.verifiedAt ?? .distantPast) < ($1.verifiedAt ?? .distantPast) }
    }
}
