/// Why a document number was refused. Filled in by the identity-rules issue; the foundation
/// only needs the module to exist so the package graph is final.
public enum DocumentError: Error, Sendable, Equatable {
    /// The input has the wrong number of characters.
    case invalidLength
    /// The input has characters that cannot appear in this document type.
    case invalidFormat
    /// The check character does not match.
    case invalidChecksum
}
