import Foundation
import IdentityRules
import ShimingCore

/// The work on each roll line that needs nothing but the line: validating it, indexing its
/// number and sealing its fields. It holds no state, so the import runs it on several records
/// at once; the key version and index key are taken per batch, so a long import follows
/// `keys rotate` and `keys reindex`.
struct RosterPreparer: Sendable {
    let columns: [String: Int]
    let extraColumns: [(String, Int)]
    let today: CivilDate
    let importID: UUID
    let sealer: FieldCipher.BinarySealer
    let indexer: BlindIndex.Indexer

    /// What a record gave, in the file's order.
    enum Outcome: Sendable {
        case blank
        case rejected(line: Int, RowProblem)
        /// A valid line: its row, its class's labels and the key they are told apart by.
        case line(RosterRow, RosterClass, classKey: String)
    }

    struct RowProblem: Error, Sendable {
        var code: String
        var field: String
    }

    /// Prepares records, the i-th valid one sealed with the i-th 12 bytes of `nonces`.
    func prepare(_ records: CSVReader.Records, nonces: [UInt8]) throws -> [Outcome] {
        var schoolKeys: [String: String] = [:]
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(records.count)
        for position in 0..<records.count {
            let fields = records.fields(position)
            if fields.count == 1, fields[0].trimmedWhitespace.isEmpty {
                outcomes.append(.blank)
                continue
            }
            func value(_ column: String) -> String {
                guard let index = columns[column], index < fields.count else { return "" }
                return fields[index].trimmedWhitespace
            }
            do {
                var line = try validate(name: value("name"), number: value("id_number"), school: value("school"), grade: value("grade"),
                                        class: value("class"), year: value("enrolment_year"))
                if !extraColumns.isEmpty {
                    line.extra = Dictionary(extraColumns.map { ($0.0, $0.1 < fields.count ? fields[$0.1] : "") },
                                            uniquingKeysWith: { a, _ in a })
                }
                let schoolKey = schoolKeys[line.school] ?? NameMatching.labelKey(line.school)
                schoolKeys[line.school] = schoolKey
                let index = indexer.shortIndex(line.number)
                let sealed = try sealer.seal(line.packed, nonce: FieldCipher.nonce(position, of: nonces),
                                             authenticating: RosterLine.context(importID: importID, school: line.school, index: index))
                outcomes.append(.line(RosterRow(school: line.school, numberIndex: index, sealed: sealed),
                                      RosterClass(schoolKey: schoolKey, school: line.school, grade: line.grade, class: line.class),
                                      classKey: schoolKey + "\u{1}" + line.grade + "\u{1}" + line.class))
            } catch let problem as RowProblem {
                outcomes.append(.rejected(line: records.lines[position], problem))
            }
        }
        return outcomes
    }

    private func validate(name: String, number: String, school: String, grade: String, class: String, year: String) throws -> RosterLine {
        let cleanName: String
        do throws(DocumentError) { cleanName = try PersonalName.validate(name) } catch {
            throw RowProblem(code: name.isEmpty ? "required" : error.rawValue, field: "name")
        }
        guard !number.isEmpty else { throw RowProblem(code: "required", field: "id_number") }
        let check = DocumentCheck.check(number, as: .resident, today: today)
        guard check.isValid, var normalized = check.normalized else {
            throw RowProblem(code: check.error?.rawValue ?? "invalid_format", field: "id_number")
        }
        if check.type == .residentID15 {
            do throws(DocumentError) { normalized = try ResidentIDNumber.upgrade(normalized, today: today) } catch {
                throw RowProblem(code: error.rawValue, field: "id_number")
            }
        }
        for (field, value) in [("school", school), ("grade", grade), ("class", `class`)] where value.isEmpty {
            throw RowProblem(code: "required", field: field)
        }
        guard let enrolment = Int(year), enrolment >= 1950, enrolment <= today.year + 1 else {
            throw RowProblem(code: year.isEmpty ? "required" : "invalid_value", field: "enrolment_year")
        }
        return RosterLine(name: cleanName, number: normalized, school: school, grade: grade, class: `class`, enrolmentYear: enrolment)
    }
}
