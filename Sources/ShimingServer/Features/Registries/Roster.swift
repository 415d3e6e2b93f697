import Foundation
import IdentityRules
import NIOCore
import ShimingCore

/// The sealed part of a roster line.
struct RosterLine: Codable, Sendable {
    var name: String
    var number: String
    var school: String
    var grade: String
    var `class`: String
    var enrolmentYear: Int
    var extra: [String: String]?

    /// The sealed fields, packed: name, number, grade, class and enrolment year, then the extra
    /// columns' names and values, each a length (LEB128) and its UTF-8. The school is its
    /// segment's label. A roll has a million lines: this is cheaper to build and to store than JSON.
    var packed: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        func put(_ text: String) {
            var length = text.utf8.count
            while length >= 0x80 {
                out.append(UInt8(length & 0x7F) | 0x80)
                length >>= 7
            }
            out.append(UInt8(length))
            out += text.utf8
        }
        for field in [name, number, grade, `class`, String(enrolmentYear)] { put(field) }
        for (key, value) in (extra ?? [:]).sorted(by: { $0.key < $1.key }) {
            put(key)
            put(value)
        }
        return out
    }

    /// What a sealed line is bound to: its import, its school as the segment spells it and its
    /// number's index. A line moved to another roll, school or number does not open.
    static func context(importID: UUID, school: String, index: [UInt8]) -> [UInt8] {
        var out = Array("roster".utf8)
        withUnsafeBytes(of: importID.uuid) { out += $0 }
        out += school.utf8
        out.append(0x1F)
        out += index
        return out
    }

    /// The encryption context of a line stored before the compact form (`roster_entries`).
    static func legacyContext(_ id: UUID) -> String {
        withUnsafeBytes(of: id.uuid) { "roster." + Hex.encode($0) }
    }

    var registryRecord: RegistryRecord {
        RegistryRecord(name: name, documentNumber: number, school: school, grade: grade, class: `class`, enrolmentYear: enrolmentYear)
    }
}

extension RosterLine {
    /// A line from its packed fields and its segment's school (nil: not a packed line).
    init?(packed bytes: [UInt8], school: String) {
        var fields: [String] = []
        var at = 0
        while at < bytes.count {
            var (length, shift) = (0, 0)
            while true {
                guard at < bytes.count, shift < 28 else { return nil }
                let byte = bytes[at]
                at += 1
                length |= Int(byte & 0x7F) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            guard length <= bytes.count - at else { return nil }
            fields.append(String(decoding: bytes[at..<(at + length)], as: UTF8.self))
            at += length
        }
        guard fields.count >= 5, fields.count % 2 == 1, let year = Int(fields[4]) else { return nil }
        self.init(name: fields[0], number: fields[1], school: school, grade: fields[2], class: fields[3], enrolmentYear: year)
        if fields.count > 5 {
            extra = Dictionary(stride(from: 5, to: fields.count, by: 2).map { (fields[$0], fields[$0 + 1]) }, uniquingKeysWith: { a, _ in a })
        }
    }
}

/// The answer to an import: API.md's `{rows, imported, rejected:[{line, code}]}`.
struct RosterReport: Codable, Sendable, Equatable {
    struct Rejected: Codable, Sendable, Equatable {
        var line: Int
        var code: String
        var field: String?
    }

    var id: UUID
    var rows: Int
    var imported: Int
    /// The first 1,000 rejected lines; `rejectedCount` has them all.
    var rejected: [Rejected]
    var rejectedCount: Int
    var schools: Int
}

/// Streams a roster CSV into the database: parsed chunk by chunk, validated line by line,
/// written in batches, so memory does not grow with the file.
struct RosterImporter {
    static let requiredColumns = ["name", "id_number", "school", "grade", "class", "enrolment_year"]
    static let batchSize = 2000
    static let listedRejections = 1000

    let context: ShimingContext
    let store: Store
    let actor: AuditActor
    let ip: String?

    private var reader = CSVReader()
    private var columns: [String: Int]?
    private var extraColumns: [(String, Int)] = []
    private var batch: [RosterRow] = []
    private var schools = Set<String>()
    private var report: RosterReport
    private let importID = UUID()
    private let today: CivilDate
    private var pending: Task<[String: Int64], any Error>?
    /// Taken again for every batch, so a long import follows a new blind-index key (`keys reindex`)
    /// and a new master key version (`keys rotate`).
    private var numberIndexer: BlindIndex.Indexer
    private var sealer: FieldCipher.BinarySealer
    /// The batch's nonces, drawn at once from the injected random source.
    private var nonces: [UInt8] = []
    /// The segment of each school label written so far (label → id), as the writes answer.
    private var segments: [String: Int64] = [:]
    private var schoolKeys: [String: String] = [:]
    /// The distinct (school, grade, class) labels seen, for `roster_classes`.
    private var classLabels: [String: RosterClass] = [:]
    /// Seconds spent waiting for the database (the rest overlaps with preparing the next batch).
    private(set) var waitedForWrites: Double = 0

    init(context: ShimingContext, store: Store, actor: AuditActor, ip: String?) {
        self.context = context
        self.store = store
        self.actor = actor
        self.ip = ip
        report = RosterReport(id: importID, rows: 0, imported: 0, rejected: [], rejectedCount: 0, schools: 0)
        numberIndexer = context.blindIndex.indexer(domain: CaseService.numberDomain)
        sealer = context.cipher.binarySealer()
        today = CivilDate(unixSeconds: Int64(context.services.clock.now().timeIntervalSince1970))
    }

    /// Imports a whole source of byte chunks; `waited` learns how long the reading side waited
    /// for database writes.
    static func run<Chunks: AsyncSequence>(_ chunks: Chunks, context: ShimingContext, store: Store, actor: AuditActor,
                                           ip: String?, waited: (Double) -> Void = { _ in }) async throws -> RosterReport where Chunks.Element == ByteBuffer {
        var importer = RosterImporter(context: context, store: store, actor: actor, ip: ip)
        try await importer.start()
        do {
            for try await chunk in chunks {
                try await importer.feed(chunk.readableBytesView)
            }
            let report = try await importer.finish()
            waited(importer.waitedForWrites)
            return report
        } catch {
            try? await importer.fail()
            throw error
        }
    }

    mutating func start() async throws {
        try await store.roster.begin(importID, actor: actor, at: context.services.clock.now())
    }

    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) async throws where Bytes.Element == UInt8 {
        for record in reader.feed(bytes) { try await take(record) }
    }

    mutating func finish() async throws -> RosterReport {
        for record in reader.finish() { try await take(record) }
        guard columns != nil else {
            try await fail()
            throw UserFacingError(code: "roster_empty", kind: .invalidInput,
                                  message: LocalizedText("文件是空的，第一行应为表头 name,id_number,school,grade,class,enrolment_year。",
                                                         "The file is empty; the first line must be the header name,id_number,school,grade,class,enrolment_year."),
                                  fields: ["file": "roster_empty"])
        }
        try await flush()
        try await awaitWrites()
        report.schools = schools.count
        let now = context.services.clock.now()
        let (id, schools, report, actor, ip) = (importID, Array(schools), report, actor, ip)
        let classes = Array(classLabels.values)
        try await store.transaction { tx in
            // The new roll replaces the old one, school by school.
            try await tx.roster.complete(id, report: report, schools: schools, classes: classes, at: now)
            try await tx.audit("roster.imported", actor: actor, subject: "roster_import:\(id.uuidString.lowercased())", ip: ip,
                               details: ["rows": String(report.rows), "imported": String(report.imported),
                                         "rejected": String(report.rejectedCount), "schools": String(schools.count)], at: now)
        }
        return report
    }

    /// Marks the import failed and removes what it had written.
    mutating func fail() async throws {
        if let running = pending {
            pending = nil
            _ = try? await running.value
        }
        try await store.roster.abandon(importID)
    }

    private mutating func take(_ record: CSVReader.Record) async throws {
        guard let columns else {
            try header(record)
            return
        }
        report.rows += 1
        if record.fields.count == 1, record.fields[0].trimmedWhitespace.isEmpty {
            report.rows -= 1  // a blank line
            return
        }
        func value(_ column: String) -> String {
            guard let index = columns[column], index < record.fields.count else { return "" }
            return record.fields[index].trimmedWhitespace
        }
        do {
            let line = try validate(name: value("name"), number: value("id_number"), school: value("school"), grade: value("grade"),
                                    class: value("class"), year: value("enrolment_year"))
            var sealedLine = line
            if !extraColumns.isEmpty {
                sealedLine.extra = Dictionary(extraColumns.map { ($0.0, $0.1 < record.fields.count ? record.fields[$0.1] : "") },
                                              uniquingKeysWith: { a, _ in a })
            }
            let schoolKey = schoolKeys[line.school] ?? NameMatching.labelKey(line.school)
            schoolKeys[line.school] = schoolKey
            schools.insert(schoolKey)
            let classKey = schoolKey + "\u{1}" + line.grade + "\u{1}" + line.class
            if classLabels[classKey] == nil { classLabels[classKey] = RosterClass(schoolKey: schoolKey, school: line.school, grade: line.grade, class: line.class) }
            let index = numberIndexer.shortIndex(line.number)
            if nonces.isEmpty { nonces = context.services.random.bytes(12 * Self.batchSize) }
            let nonce = nonces[(batch.count * 12)..<(batch.count * 12 + 12)]
            batch.append(RosterRow(school: line.school, numberIndex: index,
                                   sealed: try sealer.seal(sealedLine.packed, nonce: nonce,
                                                           authenticating: RosterLine.context(importID: importID, school: line.school, index: index))))
            report.imported += 1
            if batch.count >= Self.batchSize { try await flush() }
        } catch let problem as RowProblem {
            report.rejectedCount += 1
            if report.rejected.count < Self.listedRejections {
                report.rejected.append(.init(line: record.line, code: problem.code, field: problem.field))
            }
        }
    }

    struct RowProblem: Error {
        var code: String
        var field: String
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

    private mutating func header(_ record: CSVReader.Record) throws {
        let names = record.fields.map { $0.trimmedWhitespace.lowercased() }
        var columns: [String: Int] = [:]
        for (index, name) in names.enumerated() where columns[name] == nil { columns[name] = index }
        let missing = Self.requiredColumns.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            throw UserFacingError(code: "roster_header", kind: .invalidInput,
                                  message: LocalizedText("表头缺少列：\(missing.joined(separator: ", "))。第一行应为 name,id_number,school,grade,class,enrolment_year（可以有其他列）。",
                                                         "The header lacks: \(missing.joined(separator: ", ")). The first line must name name,id_number,school,grade,class,enrolment_year (other columns are kept)."),
                                  fields: ["file": "roster_header"])
        }
        extraColumns = names.enumerated().filter { !Self.requiredColumns.contains($0.element) && !$0.element.isEmpty }.map { ($0.element, $0.offset) }
        self.columns = columns
    }

    /// Hands the batch to the database and returns; the next batch is prepared while it is
    /// written (two cores: one parses, validates, hashes and seals, the other inserts).
    private mutating func flush() async throws {
        try await awaitWrites()
        guard !batch.isEmpty else { return }
        let (rows, importID, store, segments, schoolKeys) = (batch, importID, store, segments, schoolKeys)
        batch.removeAll(keepingCapacity: true)
        nonces = []
        numberIndexer = context.blindIndex.indexer(domain: CaseService.numberDomain)
        sealer = context.cipher.binarySealer()
        pending = Task { try await store.roster.insert(rows, importID: importID, segments: segments, schoolKeys: schoolKeys) }
    }

    private mutating func awaitWrites() async throws {
        guard let running = pending else { return }
        pending = nil
        let started = ContinuousClock.now
        segments = try await running.value
        let waited = ContinuousClock.now - started
        waitedForWrites += Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
    }
}
