import Fluent
import Foundation
import ShimingCore

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

    /// What a form may offer: the roll's schools, the grades of `school` (of every school while
    /// none is chosen) and the classes of that grade, each once (spelled as the roll spells it
    /// first, in school, grade, class order) and in a natural order ("2班" before "10班").
    static func offered(school: String?, grade: String?, on db: any Database) async throws -> (schools: [String], grades: [String], classes: [String]) {
        let all = try await RosterClassRecord.query(on: db).sort(\.$schoolKey).sort(\.$grade).sort(\.$class).all()
        let key = school.map(NameMatching.labelKey)
        let mine = key.flatMap { key in all.contains { $0.schoolKey == key } ? all.filter { $0.schoolKey == key } : nil } ?? all
        let gradeKey = grade.map(NameMatching.labelKey)
        let inGrade = gradeKey.flatMap { key in mine.contains { NameMatching.labelKey($0.grade) == key }
            ? mine.filter { NameMatching.labelKey($0.grade) == key } : nil } ?? mine
        func distinct(_ labels: [String]) -> [String] {
            var seen = Set<String>()
            return labels.filter { seen.insert(NameMatching.labelKey($0)).inserted }
                .sorted { $0.compare($1, options: [.numeric], locale: nil) == .orderedAscending }
        }
        return (distinct(all.map(\.school)), distinct(mine.map(\.grade)), distinct(inGrade.map(\.class)))
    }
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
