import Fluent
import Prometheus
import ShimingCore
import Vapor

/// What a configured Shiming application holds beside Vapor's own state: its configuration,
/// injected services and the objects built from them once at start.
///
/// A class, shared: every service, controller, route handler and store holds it, and as a
/// struct of some 1.4 KB each of them held a copy (about 8,000 at start, 12 MB of the idle
/// server's memory), and every copy retained and released each of its references.
public final class ShimingContext: Sendable {
    /// The configuration the app was built from.
    public let configuration: ShimingConfiguration
    /// Injected side effects.
    public let services: Services
    /// The message sink actually in use.
    public let messageSink: any MessageSink
    /// The keys that stay when the master key is rotated (audit chain, pairwise subjects, secret
    /// hashes, blind indexes), with the master key version current at start.
    public let keyRing: KeyRing
    /// The master key versions (re-read when `keys rotate` or `keys retire` changes the key file).
    let masterKeys: MasterKeys
    /// Encryption for personal data in columns.
    public let cipher: FieldCipher
    /// The accounts' own data keys, which the cipher and the files seal personal data under.
    let accountKeys: AccountKeys
    /// Blind indexes for lookups on encrypted values.
    public let blindIndex: BlindIndex
    /// This app's Prometheus registry (per app, not process-global, so tests stay independent).
    public let metrics: PrometheusCollectorRegistry
    /// Serialises write transactions where the engine needs it (SQLite).
    public let writeGate: WriteGate
    /// Hashes and checks passwords.
    public let passwordHasher: any PasswordHasher
    /// Uploads, sealed with the file subkey.
    let files: SealedFiles
    /// The verification programs on offer (presets and `programs/*.yaml`).
    public let programs: ProgramCatalog
    /// The third-party identity service programs with `registry.source: service` consult.
    public let identityService: (any IdentityService)?
    /// The reasons reviewers give for rejecting or returning (defaults or `review-reasons.yaml`).
    public let reviewReasons: ReviewReasonList
    /// The consent texts (`<data dir>/consents/`).
    let consents: ConsentCatalog
    /// Recent session lookups (the account and session behind a token's hash), reused for at
    /// most `SHIMING_SESSION_CACHE_SECONDS` and only while no write transaction of this instance
    /// has ended since, but for the verification queries' own records, which touch no account
    /// or session (`WriteGate.changes` is the stamp): a sign-out, a disabled account or a
    /// changed role here is seen by the very next request, one made by another instance (or a
    /// command beside the server) within that time. The session's expiry is checked on every use.
    let sessions: RecentLookups<(Account, Session)>
    /// Recent platform key lookups (for as long as session lookups).
    let platformKeys: PlatformKeyCache
    /// Recent reads of the verification query (for as long as session lookups, while no write
    /// but the queries' own records has ended here).
    let verifications: VerificationLookups
    /// The verification queries' writes, in batches (`GrantService.recordQueries`).
    let queryCalls: Batcher<QueryCall, GrantStore.Found?>
    /// What the verification queries last found, for writing a batch in one statement.
    let queryExpectations = QueryExpectations()
    /// Reads batched on PostgreSQL (the whole case read).
    let reads = ReadBatches()

    init(configuration: ShimingConfiguration, services: Services, messageSink: any MessageSink, keyRing: KeyRing, masterKeys: MasterKeys,
         cipher: FieldCipher, accountKeys: AccountKeys, blindIndex: BlindIndex, metrics: PrometheusCollectorRegistry, writeGate: WriteGate,
         passwordHasher: any PasswordHasher, files: SealedFiles, programs: ProgramCatalog, identityService: (any IdentityService)?,
         reviewReasons: ReviewReasonList, consents: ConsentCatalog) {
        self.configuration = configuration
        self.services = services
        self.messageSink = messageSink
        self.keyRing = keyRing
        self.masterKeys = masterKeys
        self.cipher = cipher
        self.accountKeys = accountKeys
        self.blindIndex = blindIndex
        self.metrics = metrics
        self.writeGate = writeGate
        queryCalls = Batcher(largest: 64, executor: writeGate.executor)
        self.passwordHasher = passwordHasher
        self.files = files
        self.programs = programs
        self.identityService = identityService
        self.reviewReasons = reviewReasons
        self.consents = consents
        sessions = RecentLookups(lifetime: TimeInterval(configuration.sessionCacheSeconds))
        platformKeys = PlatformKeyCache(lifetime: TimeInterval(configuration.sessionCacheSeconds))
        verifications = VerificationLookups(lifetime: TimeInterval(configuration.sessionCacheSeconds))
    }
}

extension ShimingContext {
    /// The cipher sealing under one account's own key (created and committed on first use).
    func sealer(for account: UUID) async throws -> FieldCipher {
        try await accountKeys.sealing(cipher, for: account)
    }
}

extension Application {
    private struct ShimingContextKey: StorageKey {
        typealias Value = ShimingContext
    }

    /// The Shiming context; available after `configure(_:configuration:services:)`.
    public var shiming: ShimingContext {
        get {
            guard let context = storage[ShimingContextKey.self] else {
                fatalError("configure(_:configuration:services:) has not been called on this application")
            }
            return context
        }
        set { storage[ShimingContextKey.self] = newValue }
    }
}

extension Request {
    /// The Shiming context of the application serving this request.
    public var shiming: ShimingContext { application.shiming }
    /// "Now", from the injected clock.
    public var now: Date { application.shiming.services.clock.now() }
}
