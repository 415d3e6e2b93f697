import Fluent
import Foundation
import SQLKit
import ShimingCore

/// One import of a student roll (学籍库). Entries become visible to the registry check only
/// when their import is `complete`; the import that completes replaces the earlier entries of
/// the schools it contains.
final class RosterImportRecord: Model, @unchecked Sendable {
    static let schema = "roster_imports"

    @ID(key: .id) var id: UUID?
    /// `running`, `complete` or `failed`.
    @Field(key: "state") var state: String
    @Field(key: "rows") var rows: Int
    @Field(key: "imported") var imported: Int
    @Field(key: "rejected") var rejected: Int
    @Field(key: "actor") var actor: String
    @Field(key: "started_at") var startedAt: Date
    @OptionalField(key: "finished_at") var finishedAt: Date?

    init() {}
}

/// A roster line: the number's blind index and the school key in clear (lookups and
/// replacement), everything else in one sealed JSON value.
final class RosterEntryRecord: Model, @unchecked Sendable {
    static let schema = "roster_entries"

    @ID(key: .id) var id: UUID?
    @Field(key: "import_id") var importID: UUID
    @Field(key: "school_key") var schoolKey: String
    @Field(key: "number_index") var numberIndex: String
    @Field(key: "data_sealed") var dataSealed: String

    init() {}

    /// The associated data binding a sealed line to its row (hex of the id, without a formatter).
}

/// The grades and classes a school's roll has (labels, no personal data), so forms can offer
/// them as choices. Replaced with the school's roll.
final class RosterClassRecord: Model, @unchecked Sendable {
    static let schema = "roster_classes"

    @ID(key: .id) var id: UUID?
    @Field(key: "school_key") var schoolKey: String
    @Field(key: "school") var school: String
    @Field(key: "grade") var grade: String
    @Field(key: "class") var `class`: String

    init() {}
}
