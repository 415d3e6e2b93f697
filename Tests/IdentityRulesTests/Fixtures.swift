import Foundation

/// Reads the public test vectors copied from ../shared/testdata into Tests/Fixtures.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// Tab-separated rows without comment lines; the first row is the header when `header`.
    static func rows(_ name: String, header: Bool) throws -> [[String]] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        var rows = text.split(separator: "\n", omittingEmptySubsequences: true)
            .filter { !$0.hasPrefix("#") }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        if header { rows.removeFirst() }
        return rows
    }

    /// The day the corpus was labelled: tests fix "today" to it.
    static let today = CivilDateFixture.today
}

import IdentityRules

enum CivilDateFixture {
    static let today = CivilDate(year: 2026, month: 11, day: 21)!
}
