import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ShimingCore

/// A third-party identity service (P5, 公安/第三方核验): asked whether a name and an identity
/// number belong together. Never throws: a service that cannot answer is `unavailable`, and
/// the case goes to a person.
public protocol IdentityService: Sendable {
    func check(name: String, documentNumber: String) async -> RegistryAnswer
}

/// How to talk to the service: where, with which credentials, how the request and the answer
/// are shaped, and how patient to be.
public struct IdentityServiceSettings: Sendable, Equatable {
    public var url: String
    /// Sent as `Authorization: Bearer …` when set.
    public var token: String?
    /// Request JSON field names.
    public var nameField = "name"
    public var numberField = "idNumber"
    /// Dot path of the verdict in the answer, and the values that mean each verdict.
    public var resultPath = "result"
    public var matchValues: Set<String> = ["match", "consistent", "1"]
    public var mismatchValues: Set<String> = ["mismatch", "inconsistent", "2"]
    public var notFoundValues: Set<String> = ["not_found", "no_record", "3"]
    /// Dot path of a list naming the fields that differed (`name`, `document_number`), if the service gives one.
    public var differedPath: String? = "differed"
    public var timeout: TimeInterval = 5
    /// Further tries after a failed one (network error, timeout, 5xx, an answer that cannot be read).
    public var retries = 2
    /// Consecutive failed calls that open the circuit, and how long it stays open.
    public var breakerThreshold = 5
    public var breakerCooldown: TimeInterval = 30

    public init(url: String, token: String? = nil) {
        self.url = url
        self.token = token
    }
}

/// Stops calling a failing service for a while, so that applicants are not kept waiting on
/// timeouts and the service gets room to recover; one trial call after the cool-down decides
/// whether it is back.
final class CircuitBreaker: Sendable {
    enum State: Equatable, Sendable {
        case closed(failures: Int)
        case open(until: Date)
        case halfOpen
    }

    private let state = NIOLockedValueBox(State.closed(failures: 0))
    let threshold: Int
    let cooldown: TimeInterval

    init(threshold: Int, cooldown: TimeInterval) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    var current: State { state.withLockedValue { $0 } }

    /// Whether a call may go out now.
    func allow(now: Date) -> Bool {
        state.withLockedValue { state in
            switch state {
            case .closed: return true
            case .halfOpen: return false  // the trial call is under way
            case .open(let until):
                guard now >= until else { return false }
                state = .halfOpen
                return true
            }
        }
    }

    func succeeded() {
        state.withLockedValue { $0 = .closed(failures: 0) }
    }

    func failed(now: Date) {
        state.withLockedValue { state in
            switch state {
            case .closed(let failures):
                state = failures + 1 >= threshold ? .open(until: now.addingTimeInterval(cooldown)) : .closed(failures: failures + 1)
            case .halfOpen, .open:
                state = .open(until: now.addingTimeInterval(cooldown))
            }
        }
    }
}

/// The HTTP adapter: `POST url` with `{nameField: …, numberField: …}`, reading the verdict from
/// the answer's JSON at `resultPath`.
public struct HTTPIdentityService: IdentityService {
    let settings: IdentityServiceSettings
    let client: HTTPClient
    let clock: any WallClock
    let breaker: CircuitBreaker
    let logger: Logger

    public init(settings: IdentityServiceSettings, client: HTTPClient, clock: any WallClock, logger: Logger = Logger(label: "shiming.identity-service")) {
        self.settings = settings
        self.client = client
        self.clock = clock
        self.logger = logger
        breaker = CircuitBreaker(threshold: settings.breakerThreshold, cooldown: settings.breakerCooldown)
    }

    public func check(name: String, documentNumber: String) async -> RegistryAnswer {
        guard breaker.allow(now: clock.now()) else { return RegistryAnswer(verdict: .unavailable) }
        for attempt in 0...settings.retries {
            if let answer = await call(name: name, number: documentNumber) {
                breaker.succeeded()
                return answer
            }
            logger.warning("Identity service call failed", metadata: ["attempt": "\(attempt + 1)"])
            if attempt < settings.retries { try? await Task.sleep(for: .milliseconds(100 * (1 << attempt))) }
        }
        breaker.failed(now: clock.now())
        return RegistryAnswer(verdict: .unavailable)
    }

    /// One call; `nil` when it failed in a way worth retrying.
    func call(name: String, number: String) async -> RegistryAnswer? {
        var request = HTTPClientRequest(url: settings.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token = settings.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        guard let body = try? JSONSerialization.data(withJSONObject: [settings.nameField: name, settings.numberField: number]) else { return nil }
        request.body = .bytes(ByteBuffer(data: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeout * 1000)))
            guard (200..<300).contains(response.status.code) else { return nil }
            let data = try await response.body.collect(upTo: 1 << 20)
            guard let json = try JSONSerialization.jsonObject(with: Data(buffer: data)) as? [String: Any] else { return nil }
            return interpret(json)
        } catch {
            return nil
        }
    }

    func interpret(_ json: [String: Any]) -> RegistryAnswer? {
        func value(at path: String) -> Any? {
            var current: Any? = json
            for key in path.split(separator: ".") { current = (current as? [String: Any])?[String(key)] }
            return current
        }
        guard let raw = value(at: settings.resultPath) else { return nil }
        let verdict = "\(raw)".lowercased()
        let fields: [Program.MatchField] = [.name, .documentNumber]
        if settings.matchValues.contains(verdict) { return RegistryAnswer(verdict: .match, matched: fields) }
        if settings.notFoundValues.contains(verdict) { return RegistryAnswer(verdict: .notFound) }
        if settings.mismatchValues.contains(verdict) {
            let named = (settings.differedPath.flatMap(value(at:)) as? [Any])?.compactMap { Program.MatchField(rawValue: "\($0)") } ?? []
            let differed = named.isEmpty ? [.name] : named
            return RegistryAnswer(verdict: .mismatch, matched: fields.filter { !differed.contains($0) }, differed: differed)
        }
        return nil
    }
}

/// The registry a program consults, answering for one application.
struct CaseRegistries: Sendable {
    let context: ShimingContext
    let stores: StoreProvider

    /// Look-ups per account and per address per day, beside the program's per-number allowance.
    static let perAccountPerDay = 10
    static let perAddressPerDay = 30

    /// Whether the registry answers away from this process (a remote service, which may take
    /// seconds): its look-ups are counted in a transaction of their own before it is asked.
    /// The roll and "no registry" answer locally, and the submission counts their look-ups in
    /// its own transaction, before the answer decides anything.
    static func isRemote(_ program: Program) -> Bool { program.registry.source == .service }

    /// Takes one look-up from each allowance (one conditional statement each), in a transaction
    /// of its own; false when any is used up — nothing is asked then, and a person decides.
    func mayLookUp(number index: String, account: UUID, ip: String?, program: Program, in store: Store) async throws -> Bool {
        try await store.transaction { tx in try await takeLookUp(number: index, account: account, ip: ip, program: program, in: tx) }
    }

    /// Takes one look-up from each allowance in turn inside the caller's transaction; false when
    /// any is used up (the ones before it stay taken, as they would in `mayLookUp`; the ones after
    /// it are not taken).
    func takeLookUp(number index: String, account: UUID, ip: String?, program: Program, in tx: Store) async throws -> Bool {
        try await tx.limits.take(lookUpAllowances(number: index, account: account, ip: ip, program: program), at: context.services.clock.now()) == nil
    }

    /// The allowances a look-up takes from, in the order they are taken: the number's, the
    /// account's, the address's (a submission takes them in the statement that reads its case).
    func lookUpAllowances(number index: String, account: UUID, ip: String?, program: Program) -> [(String, Allowance)] {
        var allowances = [("registry:number:" + index, Allowance(cap: program.registry.lookupsPerNumberPerDay, window: 24 * 3600)),
                          ("registry:account:" + account.lowercasedText, Allowance(cap: Self.perAccountPerDay, window: 24 * 3600))]
        if let ip { allowances.append(("registry:ip:" + ip, Allowance(cap: Self.perAddressPerDay, window: 24 * 3600))) }
        return allowances
    }

    func answer(program: Program, application: CaseApplication, number: String) async -> RegistryAnswer {
        switch program.registry.source {
        case .none:
            return RegistryAnswer(verdict: .match)
        case .roster:
            do {
                let index = context.blindIndex.index(number, domain: CaseService.numberDomain)
                let lines = try await stores().roster.lines(numberIndex: index)
                guard !lines.isEmpty else { return RegistryAnswer(verdict: .notFound) }
                let answers = lines.map { $0.registryRecord.compare(application, number: number, on: program.registry.match) }
                return answers.first { $0.verdict == .match } ?? answers.min { $0.differed.count < $1.differed.count }!
            } catch {
                return RegistryAnswer(verdict: .unavailable)
            }
        case .service:
            guard let service = context.identityService else { return RegistryAnswer(verdict: .unavailable) }
            var answer = await service.check(name: application.identity.name ?? "", documentNumber: number)
            // Report only the fields the program compares on.
            answer.matched = answer.matched.filter(program.registry.match.contains)
            answer.differed = answer.differed.filter(program.registry.match.contains)
            return answer
        }
    }
}
