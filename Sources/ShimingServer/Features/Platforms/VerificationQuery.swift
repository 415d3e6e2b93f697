import Foundation
import IdentityRules
import ShimingCore

/// One disclosed claim's value.
enum ClaimValue: Sendable, Equatable, Codable {
    case bool(Bool)
    case string(String)
    case object([String: String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .object(try container.decode([String: String].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .bool(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// What the verification query answers: whether the person is verified, how, and exactly the
/// claims the grant allows (absent where the verification does not carry them).
struct VerificationAnswer: Sendable, Equatable {
    var verified: Bool
    /// The program, only when the `program` claim is granted.
    var program: String?
    /// `registry` (matched against an authoritative registry), `reviewed` (a person decided) or
    /// `document` (the document and data checks alone).
    var level: String?
    var verifiedAt: Date?
    /// The expiry, only when the `expiresAt` claim is granted.
    var expiresAt: Date?
    var claims: [String: ClaimValue]
}

extension GrantService {
    /// `GET /api/v1/verifications/{subject}`: the answer under the grant in force for this
    /// platform and subject, or 404 when there is none (whether the person exists is not told).
    /// Each query is counted per day for the person to see, and audited. The answer is read
    /// outside the write, in parallel with other queries; the write is short and conditional: a
    /// grant withdrawn meanwhile records nothing and answers 404, as it would a moment later.
    /// The key's call is counted against its allowance here (the route is marked so, and the
    /// platform middleware leaves it), in the same transaction, answered or not; past the
    /// allowance 429, with nothing recorded.
    func query(subject: String, platform: Platform, key: PlatformKey, ip: String?) async throws -> VerificationAnswer {
        let (now, allowance) = (now, context.configuration.platformRatePerMinute)
        let store = store
        let found = subject.count <= 100 ? try await store.grants.inForceWithVerifications(platform: platform.id, subject: subject, at: now) : nil
        let grant = found?.0
        var answer: VerificationAnswer?
        if let (grant, verified) = found {
            try await store.keys.load([grant.accountID])
            answer = try self.answer(grant, verification: verification(among: verified, platform: platform))
        }
        let recorded = try await store.transaction { tx in
            guard let grant else {
                try await PlatformService.countCall(key, in: tx, at: now, allowance: allowance)
                return false
            }
            let (calls, recorded) = try await tx.grants.recordQuery(grant.id, countingCallOf: key.id, window: PlatformService.window(now),
                                                                    allowance: allowance, at: now)
            try await PlatformService.admit(calls, key: key, in: tx, at: now, allowance: allowance)
            guard recorded else { return false }
            try await tx.audit("verification.queried", actor: .platform(platform.id), subject: Self.subject(grant.id), ip: ip,
                               details: ["key": key.id.uuidString.lowercased()], at: now)
            return true
        }
        guard recorded, let answer else { throw CommonErrors.notFound }
        return answer
    }

    /// The answer a grant allows, from the person's verification in force.
    func answer(_ grant: Grant, platform: Platform, in tx: Store) async throws -> VerificationAnswer {
        try answer(grant, verification: try await verifiedCase(account: grant.accountID, platform: platform, in: tx))
    }

    /// The answer a grant allows, from the verification the platform accepts (nil: none).
    func answer(_ grant: Grant, verification item: StoredCase?) throws -> VerificationAnswer {
        guard let item, let program = context.programs[item.program] else {
            return VerificationAnswer(verified: false, claims: grant.claims.contains(.verified) ? ["verified": .bool(false)] : [:])
        }
        let application = try cases.application(of: item)
        let granted = Set(grant.claims)
        var claims: [String: ClaimValue] = [:]
        for claim in granted {
            if let value = Self.value(of: claim, item: item, application: application, today: CivilDate(unixSeconds: Int64(now.timeIntervalSince1970))) {
                claims[claim.rawValue] = value
            }
        }
        return VerificationAnswer(
            verified: true, program: granted.contains(.program) ? item.program : nil, level: Self.level(item, program: program),
            verifiedAt: item.verifiedAt, expiresAt: granted.contains(.expiresAt) ? item.expiresAt : nil, claims: claims
        )
    }

    static func level(_ item: StoredCase, program: Program) -> String {
        if let decision = item.decision, decision.decidedBy != "system" { return "reviewed" }
        return program.registry.source == .none ? "document" : "registry"
    }

    /// One claim's value, or nil where the verification does not carry it (no birth date in a
    /// passport number, no school outside education programs). Never the document number.
    static func value(of claim: PlatformClaim, item: StoredCase, application: CaseApplication, today: CivilDate) -> ClaimValue? {
        let name = application.identity.name.map(PersonalName.compact)
        switch claim {
        case .verified: return .bool(true)
        case .program: return .string(item.program)
        case .expiresAt: return item.expiresAt.map { .string(RFC3339.string(from: $0)) }
        case .ageOver14, .ageOver18, .ageOver60:
            guard let number = application.identity.documentNumber,
                  let facts = DocumentCheck.check(number, today: today).facts else { return nil }
            let threshold = claim == .ageOver14 ? 14 : claim == .ageOver18 ? 18 : 60
            return .bool(facts.age(on: today) >= threshold)
        case .maskedName: return name.map { .string(maskMiddle($0)) }
        case .name: return name.map { .string($0) }
        case .school:
            guard let school = application.school, let title = school.school else { return nil }
            return .object(["school": title, "grade": school.grade ?? "", "class": school.class ?? ""])
        case .identityCode: return item.identityCode.map { .string($0) }
        case .organisation:
            guard let organisation = application.organisation, let title = organisation.name else { return nil }
            return .object(["name": title, "creditCode": organisation.creditCode ?? ""])
        }
    }

    /// `陈志远` → `陈*远`, `李明` → `李*`, `欧阳娜娜` → `欧**娜`.
    static func maskMiddle(_ name: String) -> String {
        let characters = Array(name)
        guard characters.count > 2 else { return characters.first.map { String($0) + "*" } ?? "" }
        return String(characters.first!) + String(repeating: "*", count: characters.count - 2) + String(characters.last!)
    }
}
