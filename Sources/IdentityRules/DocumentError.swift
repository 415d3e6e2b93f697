/// Why a document number, name, phone number or e-mail address was refused. The raw value is
/// the stable machine code used by the API and by `shiming idcheck`.
public enum DocumentError: String, Error, Sendable, Equatable, CaseIterable {
    /// Wrong number of characters.
    case invalidLength = "invalid_length"
    /// Characters that cannot appear where they are.
    case invalidFormat = "invalid_format"
    /// The check character does not match.
    case invalidChecksum = "invalid_checksum"
    /// The embedded birth date does not exist, is before 1900 or is in the future.
    case invalidBirthDate = "invalid_birth_date"
    /// The administrative division code never existed.
    case unknownRegion = "unknown_region"
    /// The division code was retired more than two years before the birth year, so no number
    /// with it can have been issued to this person.
    case retiredRegion = "retired_region"
    /// A component other than date and region is not allowed (e.g. a USCC registration
    /// authority or organisation type code, or a mobile number segment).
    case invalidComponent = "invalid_component"
}

/// A person's sex as encoded in an identity number (odd sequence code = male).
public enum Gender: String, Sendable, Hashable, CaseIterable {
    case male
    case female
}
