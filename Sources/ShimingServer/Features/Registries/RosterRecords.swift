import Fluent
import Foundation
import ShimingCore
import SQLKit

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
    static func context(_ id: UUID) -> String { RosterLine.context(id) }
}

struct CreateRosters: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(RosterImportRecord.schema)
            .id()
            .field("state", .string, .required)
            .field("rows", .int, .required)
            .field("imported", .int, .required)
            .field("rejected", .int, .required)
            .field("actor", .string, .required)
            .field("started_at", .datetime, .required)
            .field("finished_at", .datetime)
            .create()
        try await database.schema(RosterEntryRecord.schema)
            .id()
            .field("import_id", .uuid, .required)
            .field("school_key", .string, .required)
            .field("number_index", .string, .required)
            .field("data_sealed", .string, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: [
            "CREATE INDEX roster_entries_number ON roster_entries (number_index)",
            "CREATE INDEX roster_entries_school ON roster_entries (school_key, import_id)",
        ])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RosterEntryRecord.schema).delete()
        try await database.schema(RosterImportRecord.schema).delete()
    }
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

struct CreateRosterClasses: AsyncMigration {
    func prepare(on database: any Database) async throws {
        try await database.schema(RosterClassRecord.schema)
            .id()
            .field("school_key", .string, .required)
            .field("school", .string, .required)
            .field("grade", .string, .required)
            .field("class", .string, .required)
            .create()
        try await SQLDialectSwitch.run(on: database, portable: ["CREATE INDEX roster_classes_school ON roster_classes (school_key)"])
    }

    func revert(on database: any Database) async throws {
        try await database.schema(RosterClassRecord.schema).delete()
    }
}
