import Foundation
import IdentityRules
import NIOCore
import NIOPosix
import ShimingCore

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
/// written in batches, with only a few chunks and batches in hand at a time.
struct RosterImporter {
    static let requiredColumns = ["name", "id_number", "school", "grade", "class", "enrolment_year"]
    static let batchSize = 8000
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
    /// The batches handed to the database, oldest first.
    private var writes: [Task<[String: Int64], any Error>] = []
    /// Records read and not yet prepared.
    private var records = CSVReader.Records()
    /// The chunk being read (the reader after it, and its records); the records of the one before.
    private var parsing: EventLoopFuture<(CSVReader, CSVReader.Records)>?
    private var parsed = CSVReader.Records()
    /// The batch being prepared, its two halves.
    private var preparing: [[EventLoopFuture<[RosterPreparer.Outcome]>]] = []
    /// How many batches may be in preparation, and in the database's hands, at once.
    static let preparedAhead = 1
    static let writesAhead = 2
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
        today = ChinaTime.civilDay(context.services.clock.now())
    }

    /// Imports a whole source of byte chunks; `waited` learns how long the reading side waited
    /// for database writes.
    static func run<Chunks: AsyncSequence>(_ chunks: Chunks, context: ShimingContext, store: Store, actor: AuditActor,
                                           ip: String?, waited: (Double) -> Void = { _ in }) async throws -> RosterReport where Chunks.Element == ByteBuffer {
        var importer = RosterImporter(context: context, store: store, actor: actor, ip: ip)
        try await importer.start()
        do {
            for try await chunk in chunks {
                try await importer.feed(chunk)
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

    /// Reads a chunk on NIO's shared thread pool while the records of the chunk before are
    /// taken (prepared and written): the event loop this runs on stays free for the writes'
    /// continuations (and, behind the API, for other requests).
    mutating func feed(_ chunk: ByteBuffer) async throws {
        try await takeParsed()
        let before = reader
        parsing = NIOThreadPool.singleton.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.any()) {
            var reader = before
            let records = chunk.withUnsafeReadableBytes { reader.records($0) }
            return (reader, records)
        }
        try await take(parsed)
        parsed = CSVReader.Records()
    }

    /// Waits for the chunk being read, keeping its records for the next `feed` or `finish`.
    private mutating func takeParsed() async throws {
        guard let running = parsing else { return }
        parsing = nil
        (reader, parsed) = try await running.get()
    }

    mutating func finish() async throws -> RosterReport {
        try await takeParsed()
        try await take(parsed)
        try await take(reader.finish())
        parsed = CSVReader.Records()
        guard columns != nil else {
            try await fail()
            throw UserFacingError(code: "roster_empty", kind: .invalidInput,
                                  message: LocalizedText("文件是空的，第一行应为表头 name,id_number,school,grade,class,enrolment_year。",
                                                         "The file is empty; the first line must be the header name,id_number,school,grade,class,enrolment_year."),
                                  fields: ["file": "roster_empty"])
        }
        try await prepare()
        while !preparing.isEmpty { try await takePrepared() }
        try await flush()
        try await awaitWrites()
        report.schools = schools.count
        let now = context.services.clock.now()
        let (id, schools, report, actor, ip) = (importID, Array(schools), report, actor, ip)
        let classes = Array(classLabels.values)
        try await store.transaction { tx in
            // The new roll replaces the old one, school by school.
            try await tx.roster.complete(id, report: report, schools: schools, classes: classes, at: now)
            try await tx.audit("roster.imported", actor: actor, subject: "roster_import:\(id.lowercasedText)", ip: ip,
                               details: ["rows": String(report.rows), "imported": String(report.imported),
                                         "rejected": String(report.rejectedCount), "schools": String(schools.count)], at: now)
        }
        return report
    }

    /// Marks the import failed and removes what it had written.
    mutating func fail() async throws {
        for write in writes { _ = try? await write.value }
        writes = []
        try await store.roster.abandon(importID)
    }

    /// Takes read records into the batch being gathered, preparing each full batch.
    private mutating func take(_ read: CSVReader.Records) async throws {
        var next = 0
        if columns == nil, !read.isEmpty {
            try header(read.fields(0))
            next = 1
        }
        while next < read.count {
            let end = min(read.count, next + Self.batchSize - records.count)
            records.append(next..<end, of: read)
            next = end
            if records.count >= Self.batchSize { try await prepare() }
        }
    }

    /// Hands the waiting records to NIO's shared thread pool, a half to each core, to be
    /// validated, indexed and sealed while the next ones are read; then takes the oldest batch
    /// handed over while more than `preparedAhead` are.
    private mutating func prepare() async throws {
        guard let columns, !records.isEmpty else { return }
        let preparer = RosterPreparer(columns: columns, extraColumns: extraColumns, today: today, importID: importID,
                                      sealer: context.cipher.binarySealer(), indexer: context.blindIndex.indexer(domain: CaseService.numberDomain))
        let nonces = context.services.random.bytes(12 * records.count)
        let (half, loop) = ((records.count + 1) / 2, MultiThreadedEventLoopGroup.singleton.any())
        let halves = [(records.slice(0..<half), Array(nonces[..<(half * 12)])), (records.slice(half..<records.count), Array(nonces[(half * 12)...]))]
        records.removeAll(keepingCapacity: true)  // sliced into the halves: its buffers are kept for the next batch
        let handed = halves.map { records, nonces in
            NIOThreadPool.singleton.runIfActive(eventLoop: loop) { try preparer.prepare(records, nonces: nonces) }
        }
        preparing.append(handed)
        while preparing.count > Self.preparedAhead { try await takePrepared() }
    }

    /// Takes what the oldest batch handed over gave, in the file's order: counts, rejections, schools,
    /// classes, the rows to write.
    private mutating func takePrepared() async throws {
        let handed = preparing.removeFirst()
        var parts: [[RosterPreparer.Outcome]] = []
        for part in handed { parts.append(try await part.get()) }
        for outcomes in parts {
            for outcome in outcomes {
                switch outcome {
                case .blank:
                    continue
                case let .rejected(line, problem):
                    report.rows += 1
                    report.rejectedCount += 1
                    if report.rejected.count < Self.listedRejections {
                        report.rejected.append(.init(line: line, code: problem.code, field: problem.field))
                    }
                case let .line(row, labels, classKey):
                    report.rows += 1
                    report.imported += 1
                    if classLabels[classKey] == nil {
                        classLabels[classKey] = labels
                        schools.insert(labels.schoolKey)
                        if schoolKeys[row.school] == nil { schoolKeys[row.school] = labels.schoolKey }
                    }
                    batch.append(row)
                    if batch.count >= Self.batchSize { try await flush() }
                }
            }
        }
    }

    private mutating func header(_ fields: CSVReader.Fields) throws {
        let names = fields.map { $0.trimmedWhitespace.lowercased() }
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

    /// Hands the batch to the database and returns while fewer than `writesAhead` batches are
    /// being written; the next batches are read and prepared meanwhile. A batch with a school
    /// that has no segment yet first waits for every write before it: the segments those make
    /// are known then, and none is made twice. (Writes do not wait for each other: a task that
    /// awaited the one before would keep it, and every batch before it, until the end.)
    private mutating func flush() async throws {
        guard !batch.isEmpty else { return }
        if batch.contains(where: { segments[$0.school] == nil }) { try await awaitWrites() }
        while writes.count >= Self.writesAhead { try await awaitOldestWrite() }
        let (rows, importID, store, known, schoolKeys) = (batch, importID, store, segments, schoolKeys)
        batch.removeAll(keepingCapacity: true)
        writes.append(Task { try await store.roster.insert(rows, importID: importID, segments: known, schoolKeys: schoolKeys) })
    }

    private mutating func awaitWrites() async throws {
        while !writes.isEmpty { try await awaitOldestWrite() }
    }

    private mutating func awaitOldestWrite() async throws {
        let oldest = writes.removeFirst()
        let started = ContinuousClock.now
        segments.merge(try await oldest.value) { known, _ in known }
        let waited = ContinuousClock.now - started
        waitedForWrites += Double(waited.components.seconds) + Double(waited.components.attoseconds) / 1e18
    }
}
