import Foundation
import ShimingCore

/// The grades and classes a school's roll has (labels, no personal data), so forms can offer
/// them as choices.
enum RosterClasses {
    /// What a form may offer: the roll's schools, the grades of `school` (of every school while
    /// none is chosen) and the classes of that grade, each once (spelled as the roll spells it
    /// first, in school, grade, class order) and in a natural order ("2班" before "10班").
    static func offered(school: String?, grade: String?, in store: Store) async throws -> (schools: [String], grades: [String], classes: [String]) {
        let all = try await store.roster.classes()
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
