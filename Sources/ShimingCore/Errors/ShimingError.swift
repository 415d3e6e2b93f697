/// An error that can be shown to a user: a stable machine code, a localised message and the
/// input fields it concerns. Domain code throws these; the server maps them to HTTP responses
/// with the shape `{"error":{"code","message","fields"}}`.
public protocol ShimingError: Error, Sendable {
    /// Stable machine-readable code, e.g. `field_locked`.
    var code: String { get }
    /// The message shown to people, in every supported language.
    var message: LocalizedText { get }
    /// Offending input fields and a machine code for each, if any.
    var fields: [String: String] { get }
    /// The broad kind of failure, which decides the HTTP status.
    var kind: ErrorKind { get }
}

extension ShimingError {
    public var fields: [String: String] { [:] }
}

/// The broad kinds of failure a user can meet; the server maps each to one HTTP status.
public enum ErrorKind: Sendable, Equatable {
    /// Malformed request (400).
    case badRequest
    /// Well-formed but invalid input (422).
    case invalidInput
    /// Not signed in (401).
    case unauthenticated
    /// Signed in but not allowed (403).
    case forbidden
    /// Unknown, or not the caller's (404).
    case notFound
    /// Clashes with existing state (409).
    case conflict
    /// Too many attempts; retry after the given number of seconds (429).
    case rateLimited(retryAfterSeconds: Int)
    /// A dependency is down (503).
    case unavailable
    /// A bug or an unexpected failure (500); never carries details to the user.
    case internalFailure
}

/// A general-purpose user-facing error for cases that need no dedicated type.
public struct UserFacingError: ShimingError, Equatable {
    public var code: String
    public var message: LocalizedText
    public var fields: [String: String]
    public var kind: ErrorKind

    /// Creates an error with the given code, kind, message and fields.
    public init(code: String, kind: ErrorKind, message: LocalizedText, fields: [String: String] = [:]) {
        self.code = code
        self.kind = kind
        self.message = message
        self.fields = fields
    }
}
