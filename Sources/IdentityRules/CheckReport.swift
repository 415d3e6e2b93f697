/// Writes check results as the JSON lines of `shiming idcheck` (one object per line, in a
/// fixed key order), straight into a byte buffer: no intermediate objects, no encoder.
///
/// Valid: `{"input","valid":true,"type","normalized","birthDate","gender","region",
/// "regionName","regionActive"}` (the last five only for numbers that carry them; 15-digit
/// numbers add `"normalized18"`). Invalid: `{"input","valid":false,"type","error"}`.
public struct CheckReport {
    /// Region names by code and period, already JSON-escaped (names repeat a lot in rolls).
    private var regionNameCache: [Int: [UInt8]] = [:]

    /// Creates a writer.
    public init() {}

    /// Checks one input line given as UTF-8 bytes and appends its JSON line. Lines shaped like
    /// an 18-character resident ID number are checked and written straight from the bytes
    /// (no `String`, no allocation); everything else goes through `DocumentCheck.check`. Both
    /// paths write the same bytes.
    public mutating func appendLine(
        _ line: UnsafeBufferPointer<UInt8>, as selection: DocumentCheck.Selection, today: CivilDate, to out: inout [UInt8]
    ) {
        if Self.isResidentShaped(line, selection: selection) {
            out.append(contentsOf: #"{"input":""#.utf8)
            out.append(contentsOf: line)
            do throws(DocumentError) {
                let facts = try ResidentIDNumber.scan18(line, today: today)
                out.append(contentsOf: #"","valid":true,"type":""#.utf8)
                out.append(contentsOf: facts.type.rawValue.utf8)
                out.append(contentsOf: #"","normalized":""#.utf8)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: line[0..<17]))
                out.append(line[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : line[17])
                out.append(UInt8(ascii: "\""))
                appendFacts(facts, to: &out)
                out.append(contentsOf: "}\n".utf8)
            } catch {
                out.append(contentsOf: #"","valid":false,"type":""#.utf8)
                out.append(contentsOf: DocumentCheck.residentFamily(line).rawValue.utf8)
                out.append(contentsOf: #"","error":""#.utf8)
                out.append(contentsOf: error.rawValue.utf8)
                out.append(contentsOf: "\"}\n".utf8)
            }
            return
        }
        append(DocumentCheck.check(String(decoding: line, as: UTF8.self), as: selection, today: today), to: &out)
    }

    /// Lines the byte path handles: exactly what detection (or the `resident` selection) would
    /// send to the resident-ID rules without any clean-up.
    @inline(__always)
    static func isResidentShaped(_ line: UnsafeBufferPointer<UInt8>, selection: DocumentCheck.Selection) -> Bool {
        guard line.count == 18 else { return false }
        switch selection {
        case .resident:
            for byte in line where !(Normalization.isDigit(byte) || Normalization.isUpper(byte & 0xDF)) { return false }
            return true
        case .auto:
            let last = line[17]
            return line[0] != UInt8(ascii: "9") && Normalization.allDigits(line, 0..<17)
                && (Normalization.isDigit(last) || last == UInt8(ascii: "X") || last == UInt8(ascii: "x"))
        default:
            return false
        }
    }

    /// Appends the JSON line for one result, newline included.
    public mutating func append(_ result: DocumentCheckResult, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"input":"#.utf8)
        Self.appendString(result.input, to: &out)
        out.append(contentsOf: result.isValid ? #","valid":true,"type":"#.utf8 : #","valid":false,"type":"#.utf8)
        if let type = result.type { Self.appendString(type.rawValue, to: &out) } else { out.append(contentsOf: #""unknown""#.utf8) }
        if let error = result.error {
            out.append(contentsOf: #","error":""#.utf8)
            out.append(contentsOf: error.rawValue.utf8)
            out.append(contentsOf: "\"}\n".utf8)
            return
        }
        if let normalized = result.normalized {
            out.append(contentsOf: #","normalized":"#.utf8)
            Self.appendString(normalized, to: &out)
        }
        if let facts = result.facts {
            if facts.type == .residentID15, let normalized = result.normalized {
                out.append(contentsOf: #","normalized18":"#.utf8)
                Self.appendString(ResidentIDNumber.eighteenCharacterForm(ofValid15: normalized), to: &out)
            }
            appendFacts(facts, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    /// `,"birthDate":…,"regionActive":…` for numbers that carry facts.
    private mutating func appendFacts(_ facts: IdentityFacts, to out: inout [UInt8]) {
        out.append(contentsOf: #","birthDate":""#.utf8)
        facts.birthDate.append(to: &out)
        out.append(contentsOf: facts.gender == .male ? #"","gender":"male","region":""#.utf8 : #"","gender":"female","region":""#.utf8)
        Self.appendDigits(facts.regionCode, to: &out)
        out.append(contentsOf: #"","regionName":"#.utf8)
        appendRegionName(facts, to: &out)
        out.append(contentsOf: facts.regionActive ? #","regionActive":true"#.utf8 : #","regionActive":false"#.utf8)
    }

    private mutating func appendRegionName(_ facts: IdentityFacts, to out: inout [UInt8]) {
        // Names depend on the period of use: key by the period (at most a few thousand), so
        // the cache stays small however long the input is.
        let prefecture = RegionTable.periodIndex(facts.regionCode / 100 * 100, year: facts.birthDate.year) ?? -1
        let key = (RegionTable.periodIndex(facts.regionCode, year: facts.birthDate.year) ?? -facts.regionCode) &* 8192 &+ prefecture
        if let cached = regionNameCache[key] {
            out.append(contentsOf: cached)
            return
        }
        var encoded: [UInt8] = []
        if let name = facts.regionName { Self.appendString(name, to: &encoded) } else { encoded.append(contentsOf: "null".utf8) }
        regionNameCache[key] = encoded
        out.append(contentsOf: encoded)
    }

    private static func appendDigits(_ value: Int, to out: inout [UInt8]) {
        var divisor = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            out.append(UInt8(ascii: "0") &+ UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// Appends a JSON string literal (quotes included), escaping what RFC 8259 requires.
    public static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
