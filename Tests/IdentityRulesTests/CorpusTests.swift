import Foundation
import Testing
@testable import IdentityRules

@Suite("Shared corpus agreement")
struct CorpusTests {
    @Test("every line of resident_id_corpus.tsv gets the expected verdict and facts")
    func residentCorpus() throws {
        let rows = try Fixtures.rows("resident_id_corpus.tsv", header: true)
        #expect(rows.count == 19_883)
        var disagreements: [String] = []
        for row in rows {
            let (number, expected, type, birth, gender, region, note) = (row[0], row[1] == "1", row[2], row[3], row[4], row[5], row[6])
            do {
                let facts = try ResidentIDNumber.validate(number, today: Fixtures.today)
                if !expected {
                    disagreements.append("\(number) valid but expected invalid (\(note))")
                    continue
                }
                let got = [facts.type.rawValue, facts.birthDate.description, facts.gender.rawValue, facts.regionCodeText]
                if got != [type, birth, gender, region] {
                    disagreements.append("\(number) facts \(got) expected \([type, birth, gender, region])")
                }
            } catch {
                if expected { disagreements.append("\(number) \(error.rawValue) but expected valid (\(note))") }
            }
        }
        #expect(disagreements.count == 0, "e.g. \(disagreements.prefix(10).joined(separator: "; "))")
    }
}
