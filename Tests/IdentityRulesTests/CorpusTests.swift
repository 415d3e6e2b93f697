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

@Suite("idcheck output paths")
struct CheckReportTests {
    @Test("the byte path and the String path write identical lines for every corpus number", arguments: [
        DocumentCheck.Selection.auto, .resident,
    ])
    func samePaths(selection: DocumentCheck.Selection) throws {
        let numbers = try Fixtures.rows("resident_id_corpus.tsv", header: true).map { $0[0] }
            + ["11010519491231002x", "t60426199101010078", "91110000600037341L", "A1110000600037341L", "810000198001011236"]
        var fast = CheckReport(), slow = CheckReport()
        for number in numbers {
            var viaBytes: [UInt8] = [], viaString: [UInt8] = []
            var copy = number
            copy.withUTF8 { fast.appendLine($0, as: selection, today: Fixtures.today, to: &viaBytes) }
            slow.append(DocumentCheck.check(number, as: selection, today: Fixtures.today), to: &viaString)
            #expect(viaBytes == viaString, "\(number): \(String(decoding: viaBytes, as: UTF8.self)) vs \(String(decoding: viaString, as: UTF8.self))")
        }
    }
}
