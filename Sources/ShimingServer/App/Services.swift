import ShimingCore

/// The side effects Shiming depends on, injected at configure time so tests swap them:
/// time, randomness and message delivery. Later capabilities add their adapters here
/// (SMS gateway, registry client, file store).
public struct Services: Sendable {
    /// The source of "now".
    public var clock: any WallClock
    /// The source of randomness for codes and tokens.
    public var random: any RandomSource
    /// Where the outbox worker delivers messages; `nil` means "as configured".
    public var messageSink: (any MessageSink)?
    /// How passwords are hashed; `nil` means bcrypt at the configured cost.
    public var passwordHasher: (any PasswordHasher)?
    /// Where sealed uploads are stored; `nil` means the data dir's `files/`.
    public var fileStore: (any FileStore)?
    /// The third-party identity service; `nil` means the configured HTTP service, if any.
    public var identityService: (any IdentityService)?

    /// Creates a set of services; defaults are the real ones.
    public init(
        clock: any WallClock = SystemClock(),
        random: any RandomSource = SystemRandom(),
        messageSink: (any MessageSink)? = nil,
        passwordHasher: (any PasswordHasher)? = nil,
        fileStore: (any FileStore)? = nil,
        identityService: (any IdentityService)? = nil
    ) {
        self.clock = clock
        self.random = random
        self.messageSink = messageSink
        self.passwordHasher = passwordHasher
        self.fileStore = fileStore
        self.identityService = identityService
    }
}
