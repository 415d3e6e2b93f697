/// An administrative division (GB/T 2260), possibly one no longer in use.
public struct Region: Sendable, Hashable {
    /// The six-digit code, e.g. 110101.
    public let code: Int
    /// The division's own name, e.g. 东城区.
    public let name: String
    /// Province, prefecture and county names joined, e.g. 北京市东城区.
    public let fullName: String
    /// First year of use, if known.
    public let firstYear: Int?
    /// Last year of use; `nil` while the code is still in use.
    public let lastYear: Int?

    /// Whether the code is still in use.
    public var isActive: Bool { lastYear == nil }
}

/// The GB/T 2260 division codes with their periods of use, including retired ones: people keep
/// the number they were issued, so a code abolished in 1990 still appears on valid cards.
public enum RegionTable {
    /// Codes 110000..<830000 are looked up directly; other values are not division codes.
    static let lowestCode = 110_000
    static let highestCode = 829_999

    /// `lastYearByCode[code - lowestCode]`: 0 = no such code, `activeMarker` = still in use,
    /// otherwise the last year of use. Flat so the hot path is one load, with no hashing.
    static let activeMarker: Int16 = .max

    struct Storage: Sendable {
        var lastYearByCode: [Int16]
        var rows: [(code: Int, first: Int?, last: Int?, name: String)]
        var provinces: [Int: String]
    }

    static let storage: Storage = {
        var lastYearByCode = [Int16](repeating: 0, count: highestCode - lowestCode + 1)
        var rows: [(code: Int, first: Int?, last: Int?, name: String)] = []
        rows.reserveCapacity(7200)
        for line in regionSource.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 4, let code = Int(fields[0]) else { continue }
            let last = Int(fields[2])
            rows.append((code, Int(fields[1]), last, String(fields[3])))
            guard code >= lowestCode, code <= highestCode else { continue }
            // A code renamed over time has several periods: in use if any period is open,
            // otherwise until the end of its last period.
            let slot = code - lowestCode
            let marker = last.map { Int16($0) } ?? activeMarker
            lastYearByCode[slot] = max(lastYearByCode[slot], marker)
        }
        var provinces: [Int: String] = [:]
        for line in provinceSource.split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count == 2, let code = Int(fields[0]) { provinces[code] = String(fields[1]) }
        }
        return Storage(lastYearByCode: lastYearByCode, rows: rows, provinces: provinces)
    }()

    /// Whether a two-digit province code exists.
    public static func isProvince(_ code: Int) -> Bool {
        storage.provinces[code] != nil
    }

    /// The encoded last year of a code (see `lastYearByCode`), 0 when unknown.
    @inline(__always)
    static func lastYearMarker(_ code: Int) -> Int16 {
        guard code >= lowestCode, code <= highestCode else { return 0 }
        return storage.lastYearByCode.withUnsafeBufferPointer { $0[code - lowestCode] }
    }

    /// Checks that a division code can appear in the number of someone born in `birthYear`:
    /// it must exist, and must not have been retired more than two years before that year
    /// (a retired code stays in use for a while after the official change). A code created
    /// after the birth year is fine: the code records where the household was registered when
    /// the number was assigned, which can be long after birth.
    @inline(__always)
    public static func check(_ code: Int, birthYear: Int) throws(DocumentError) {
        let marker = lastYearMarker(code)
        if marker == 0 { throw .unknownRegion }
        if marker != activeMarker, birthYear > Int(marker) + 2 { throw .retiredRegion }
    }

    /// The division with this code and its names as they were in `year` (the latest names
    /// when no year is given); `nil` if the code never existed.
    public static func region(code: Int, year: Int? = nil) -> Region? {
        guard let row = period(code, year: year) else { return nil }
        var parts: [String] = []
        if code % 10_000 == 0 {
            parts = [row.name]
        } else {
            parts.append(storage.provinces[code / 10_000] ?? "")
            if code % 100 != 0, let city = period(code / 100 * 100, year: year),
               !genericPrefectureNames.contains(city.name) {
                parts.append(city.name)
            }
            parts.append(row.name)
        }
        let marker = lastYearMarker(code)
        return Region(
            code: code, name: row.name, fullName: parts.joined(), firstYear: row.first,
            lastYear: marker == activeMarker ? nil : Int(marker)
        )
    }

    /// Placeholder prefecture entries that are not part of a place's name.
    static let genericPrefectureNames: Set<String> = [
        "市辖区", "县", "省直辖县级行政单位", "省直辖行政单位", "自治区直辖县级行政单位", "省直辖县级行政区划",
        "自治区直辖县级行政区划",
    ]

    /// The period of a code in use in `year`; else the first period after it; else the last.
    static func period(_ code: Int, year: Int?) -> (code: Int, first: Int?, last: Int?, name: String)? {
        periodIndex(code, year: year).map { storage.rows[$0] }
    }

    /// The index of that period among all periods: a small, stable key for caches.
    static func periodIndex(_ code: Int, year: Int?) -> Int? {
        let rows = storage.rows
        var low = 0, high = rows.count
        while low < high {  // first row with this code or greater
            let mid = (low + high) / 2
            if rows[mid].code < code { low = mid + 1 } else { high = mid }
        }
        guard low < rows.count, rows[low].code == code else { return nil }
        var end = low
        while end + 1 < rows.count, rows[end + 1].code == code { end += 1 }
        guard let year else { return end }
        for index in low...end where year <= (rows[index].last ?? .max) {
            return index
        }
        return end
    }

    /// Every code in the table, for generators and tests.
    public static var allCodes: [Int] {
        var codes = storage.rows.map(\.code)
        codes.removeDuplicates()
        return codes
    }
}

extension Array where Element: Equatable {
    /// Removes adjacent repeats (the array is sorted).
    fileprivate mutating func removeDuplicates() {
        var result: [Element] = []
        for element in self where result.last != element { result.append(element) }
        self = result
    }
}
