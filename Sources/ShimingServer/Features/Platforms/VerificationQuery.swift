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

/// One verification query's write, in a batch of them (`GrantService.recordQueries`).
struct QueryCall: Sendable {
    let platform: UUID
    let key: PlatformKey
    /// The grant in force the answer is read under: read before the write, kept from a query
    /// before (`VerificationLookups`), or to be read in the write (`Store.readsQueriedGrantsInWrite`).
    /// A call without one is counted all the same, and answered 404.
    let grant: GrantStore.QueriedGrant
    let ip: String?
    /// What this instance expects the call's write to find (`QueryExpectations`, or the grant
    /// known), made with the request (nil: nothing expected; only on PostgreSQL, where the
    /// batch's write may be one statement).
    let expected: Expected?

    enum Expected: Sendable {
        /// No grant in force.
        case noGrant
        /// This grant, and the audit event of the query under it.
        case grant(UUID, AuditEvent.Unchained)
    }
}

/// What a verification query's answer is made of: the clear facts of the verification the
/// platform accepts and its sealed application. The query reads these alone, not the whole case.
struct AnsweredVerification: Sendable, Equatable {
    var id: UUID
    var program: String
    var dataSealed: String
    var identityCode: String?
    /// `system`, or the id of the staff member who decided (the answer's `level`).
    var decidedBy: String?
    var verifiedAt: Date?
    var expiresAt: Date?
}

extension AnsweredVerification {
    init(_ item: StoredCase) {
        self.init(id: item.id, program: item.program, dataSealed: item.dataSealed, identityCode: item.identityCode, decidedBy: item.decidedBy,
                  verifiedAt: item.verifiedAt, expiresAt: item.expiresAt)
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
    /// Each query is counted per day for the person to see, and audited. The key's call is
    /// counted against its allowance here (the route is marked so, and the platform middleware
    /// leaves it), in the same transaction, answered or not; past the allowance 429, with
    /// nothing recorded. Queries that arrive while others are written are written together, in
    /// one transaction (`recordQueries`); the write is short and conditional: a grant withdrawn
    /// meanwhile records nothing and answers 404, as it would a moment later.
    ///
    /// The grant and the verification are read in the write's statement on PostgreSQL (one
    /// stage for the query to wait through, not two), and before it, in parallel with other
    /// queries, on SQLite (`Store.readsQueriedGrantsInWrite`); or taken from what a query about
    /// the same subject read a moment ago (`ShimingContext.verifications`), whose grant the
    /// write checks all the same. The answer is made from what was read, after the write, or is
    /// the one kept with the read where the write found what was kept, on the same day.
    func query(subject: String, platform: Platform, key: PlatformKey, ip: String?) async throws -> VerificationAnswer {
        let (store, now, lookups) = (store, now, context.verifications)
        let (readInWrite, today) = (store.readsQueriedGrantsInWrite, ChinaTime.civilDay(now))
        let stamp = context.writeGate.changes  // before the read, so a change ending during it makes the read unusable later
        let grant: GrantStore.QueriedGrant
        var kept: VerificationLookups.Kept?
        if subject.count > 100 {
            grant = .known(nil)
        } else if let found = lookups.find(platform: platform.id, subject: subject, at: now, stamp: stamp) {
            (grant, kept) = (.known(found.found), found)
        } else if readInWrite {
            grant = .toRead(GrantStore.InForceRead(platform: platform.id, subject: subject, programs: platform.programs, now: now))
        } else {
            grant = .known(try await store.grants.inForceWithVerification(platform: platform.id, subject: subject, programs: platform.programs, at: now))
        }
        let call = QueryCall(platform: platform.id, key: key, grant: grant, ip: ip,
                             expected: readInWrite ? expected(grant, platform: platform.id, key: key, ip: ip) : nil)
        guard let found = try await context.queryCalls.run(call, body: { calls in await self.recordQueries(calls) })?.queried()
        else { throw CommonErrors.notFound }
        if let answer = kept?.answer(for: found, on: today) { return answer }
        try await store.keys.load([found.accountID])
        let answer = try answer(claims: found.claims, verification: found.verified, on: today)
        // Kept once the write has found the grant in force, where it was read for this query (a
        // subject too long to read finds none, and was answered 404 above).
        if kept == nil { lookups.keep(.init(found: found, answer: answer, day: today), platform: platform.id, subject: subject, at: now, stamp: stamp) }
        return answer
    }


    /// The write of a batch of verification queries; for each, the grant (with the
    /// verification, `GrantStore.Found`) it was recorded under, nil where it was not (no grant
    /// in force), or its refusal (429). In one statement where its outcome can be expected
    /// (`recordAsExpected`), else in one transaction (`recordTheLongWay`), and then what it
    /// found is kept for the batches after it (`QueryExpectations`).
    func recordQueries(_ calls: [QueryCall]) async -> [Result<GrantStore.Found?, any Error>] {
        if let written = await recordAsExpected(calls) { return written }
        let results = await recordTheLongWay(calls)
        for (call, result) in zip(calls, results) {
            guard case .toRead(let read) = call.grant, case .success(let grant) = result else { continue }
            context.queryExpectations.found(grant?.id, platform: read.platform, subject: read.subject)
        }
        return results
    }

    /// What a query's write is expected to find, where its grant is read in the write: the
    /// grant known (kept from a query before, or none for a subject too long to read), or the
    /// one last found for the platform's subject (`QueryExpectations`); with the query's audit
    /// event under it, made here rather than by the writer of the batch.
    private func expected(_ grant: GrantStore.QueriedGrant, platform: UUID, key: PlatformKey, ip: String?) -> QueryCall.Expected? {
        let (now, key) = (now, key.id.lowercasedText)
        let queried = { (grant: UUID) -> QueryCall.Expected in
            .grant(grant, AuditEvent.Unchained("verification.queried", actor: .platform(platform), subject: Self.subject(grant), ip: ip,
                                               details: ["key": key], at: now))
        }
        switch grant {
        case .known(let found): return found.map { queried($0.id) } ?? .noGrant
        case .toRead(let read): return context.queryExpectations.grant(platform: read.platform, subject: read.subject).map { $0.map(queried) ?? .noGrant }
        }
    }

    /// PostgreSQL: the batch's write, audit events included, in one statement outside any
    /// transaction (one round trip of the writer instead of four: `BEGIN`, the write, the
    /// events, `COMMIT`), where its outcome can be expected: every call's grant as last found
    /// here (`QueryCall.expected`), no key with more calls than the allowance, and the audit
    /// chain's end as this instance's last commit left it (`WriteGate.statement`). The events
    /// made with the requests are chained here, and the statement checks all of it under the chain's lock
    /// (`Store.countCallsAndRecordQueries`, `expecting`). Nil where the outcome cannot be
    /// expected, or was not as expected (then nothing of the statement was kept), or the batch
    /// closely follows one that was not (`QueryExpectations.attempts`): the batch is written the
    /// long way.
    private func recordAsExpected(_ calls: [QueryCall]) async -> [Result<GrantStore.Found?, any Error>]? {
        let (store, expectations) = (store, context.queryExpectations)
        let (now, allowance) = (now, context.configuration.platformRatePerMinute)
        let byKey = Self.grouped(calls.indices, by: { calls[$0].key.id })
        guard store.readsQueriedGrantsInWrite, byKey.allSatisfy({ $0.1.count <= allowance }) else { return nil }
        guard calls.allSatisfy({ $0.expected != nil }), expectations.attempts() else { return nil }
        let grants = calls.map { call -> UUID? in if case .grant(let grant, _)? = call.expected { grant } else { nil } }
        do {
            let found = try await store.gate.statement(on: store.database, changesLookups: false) { db, end -> ([GrantStore.Found?]?, AuditChainEnd?) in
                guard let end else { return (nil, nil) }  // not known: the long way takes the lock and reads it
                var (events, last) = ([AuditEvent](), end)
                for call in calls {
                    guard case .grant(_, let unchained)? = call.expected else { continue }
                    let event = unchained.chained(after: last, key: store.auditKey)
                    events.append(event)
                    last = (event.seq, event.hash)
                }
                let written = try await store.on(db).countCallsAndRecordQueries(
                    keys: byKey.map { ($0.0, $0.1.count) }, window: PlatformService.window(now), allowance: allowance,
                    queries: calls.map { ($0.key.id, $0.grant) }, at: now, expecting: .init(grants: grants, end: end, events: events))
                return (written.found, last)
            }
            guard let found else { return nil }
            expectations.wrote(asExpected: true)
            return found.map { .success($0) }
        } catch {
            expectations.wrote(asExpected: false)
            return nil
        }
    }

    /// The batch's write in one transaction. The keys whose calls all fit within the
    /// allowance are counted, and their calls noted on their grants and counted per day, in one
    /// step (`Store.countCallsAndRecordQueries`: one statement on PostgreSQL, which reads the
    /// grants too). A key whose calls do not all fit is then counted call by call until one
    /// does not (the rest are refused and not counted, as each alone would be), and its admitted
    /// calls noted after. Each recorded query is audited. A failing statement fails the whole
    /// batch, and nothing of it is written.
    private func recordTheLongWay(_ calls: [QueryCall]) async -> [Result<GrantStore.Found?, any Error>] {
        let (now, allowance) = (now, context.configuration.platformRatePerMinute)
        let window = PlatformService.window(now)
        do {
            // Its first statement (the count) takes the audit chain's lock when the batch commits alone.
            return try await store.transaction(locksChainItself: true, changesLookups: false) { tx in
                var admitted = [Bool](repeating: false, count: calls.count)
                let byKey = Self.grouped(calls.indices, by: { calls[$0].key.id })
                let (counts, together, found) = try await tx.countCallsAndRecordQueries(
                    keys: byKey.map { ($0.0, $0.1.count) }, window: window, allowance: allowance,
                    queries: calls.map { ($0.key.id, $0.grant) }, at: now)
                var recorded = together
                var oneByOne: [Int] = []  // calls admitted one by one, noted after
                for (key, indices) in byKey {
                    var after: [Int] = []  // the window's count after each admitted call
                    if let total = counts[key] {
                        after = (1...indices.count).map { total - indices.count + $0 }
                    } else {
                        for _ in indices {
                            guard let count = try await tx.platforms.countCalls(key: key, window: window, calls: 1, allowance: allowance) else { break }
                            after.append(count)
                        }
                        oneByOne += indices.prefix(after.count)
                    }
                    if after.first == 1 { try await PlatformService.firstCall(of: key, in: tx, at: now) }
                    for index in indices.prefix(after.count) { admitted[index] = true }
                }
                let queried = Self.grouped(oneByOne, by: { found[$0]?.id })
                recorded.formUnion(try await tx.grants.recordQueries(queried.compactMap { grant, indices in grant.map { ($0, indices.count) } }, at: now))
                var results: [Result<GrantStore.Found?, any Error>] = []
                for (index, call) in calls.enumerated() {
                    guard admitted[index] else {
                        results.append(.failure(PlatformService.rateLimited(at: now)))
                        continue
                    }
                    guard let grant = found[index], recorded.contains(grant.id) else {
                        results.append(.success(nil))
                        continue
                    }
                    try await tx.audit("verification.queried", actor: .platform(call.platform), subject: Self.subject(grant.id), ip: call.ip,
                                       details: ["key": call.key.id.lowercasedText], at: now)
                    results.append(.success(grant))
                }
                return results
            }
        } catch {
            return calls.map { _ in .failure(error) }
        }
    }

    /// `indices` grouped by a value, the groups in the order of their first index.
    private static func grouped<Value: Hashable>(_ indices: some Sequence<Int>, by value: (Int) -> Value) -> [(Value, [Int])] {
        var groups: [(Value, [Int])] = []
        var positions: [Value: Int] = [:]
        for index in indices {
            let key = value(index)
            if let position = positions[key] {
                groups[position].1.append(index)
            } else {
                positions[key] = groups.count
                groups.append((key, [index]))
            }
        }
        return groups
    }

    /// The answer a grant allows, from the person's verification in force.
    func answer(_ grant: Grant, platform: Platform, in tx: Store) async throws -> VerificationAnswer {
        let verified = try await verifiedCase(account: grant.accountID, platform: platform, in: tx)
        return try answer(claims: grant.claims, verification: verified.map(AnsweredVerification.init), on: ChinaTime.civilDay(now))
    }

    /// The answer a grant of `claims` allows on `today`, from the verification the platform
    /// accepts (nil: none).
    func answer(claims granted: [PlatformClaim], verification item: AnsweredVerification?, on today: CivilDate) throws -> VerificationAnswer {
        guard let item, let program = context.programs[item.program] else {
            return VerificationAnswer(verified: false, claims: granted.contains(.verified) ? ["verified": .bool(false)] : [:])
        }
        let granted = Set(granted)
        // Opened only for a claim read from it: nothing personal is decrypted to answer
        // `verified`, `program`, `expiresAt` or `identityCode`.
        let application = granted.isDisjoint(with: Self.claimsFromApplication) ? nil : try cases.application(sealed: item.dataSealed, of: item.id)
        var claims: [String: ClaimValue] = [:]
        for claim in granted {
            if let value = Self.value(of: claim, item: item, application: application, today: today) {
                claims[claim.rawValue] = value
            }
        }
        return VerificationAnswer(
            verified: true, program: granted.contains(.program) ? item.program : nil, level: Self.level(item, program: program),
            verifiedAt: item.verifiedAt, expiresAt: granted.contains(.expiresAt) ? item.expiresAt : nil, claims: claims
        )
    }

    static func level(_ item: AnsweredVerification, program: Program) -> String {
        if let decidedBy = item.decidedBy, decidedBy != "system" { return "reviewed" }
        return program.registry.source == .none ? "document" : "registry"
    }

    /// The claims read from the person's application (the others from the verification's clear facts).
    static let claimsFromApplication: Set<PlatformClaim> = [.ageOver14, .ageOver18, .ageOver60, .maskedName, .name, .school, .organisation]

    /// One claim's value, or nil where the verification does not carry it (no birth date in a
    /// passport number, no school outside education programs). Never the document number. The
    /// application is needed for the claims read from it (`claimsFromApplication`).
    static func value(of claim: PlatformClaim, item: AnsweredVerification, application: CaseApplication?, today: CivilDate) -> ClaimValue? {
        var name: String? { application?.identity.name.map(PersonalName.compact) }
        switch claim {
        case .verified: return .bool(true)
        case .program: return .string(item.program)
        case .expiresAt: return item.expiresAt.map { .string(RFC3339.string(from: $0)) }
        case .ageOver14, .ageOver18, .ageOver60:
            guard let number = application?.identity.documentNumber,
                  let facts = DocumentCheck.check(number, today: today).facts else { return nil }
            let threshold = claim == .ageOver14 ? 14 : claim == .ageOver18 ? 18 : 60
            return .bool(facts.age(on: today) >= threshold)
        case .maskedName: return name.map { .string(maskMiddle($0)) }
        case .name: return name.map { .string($0) }
        case .school:
            guard let school = application?.school, let title = school.school else { return nil }
            return .object(["school": title, "grade": school.grade ?? "", "class": school.class ?? ""])
        case .identityCode: return item.identityCode.map { .string($0) }
        case .organisation:
            guard let organisation = application?.organisation, let title = organisation.name else { return nil }
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
