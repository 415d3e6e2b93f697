import ShimingCore

/// A case's check results as stored (`StoredJSON.text`), written directly: exactly the bytes
/// `SortedJSON` and `JSONEncoder` (sorted keys, slashes escaped) write for them, absent
/// members left out. Every submission writes its checks inside the write gate, where the
/// generic encoder's tree of a handful of results was a twentieth of SQLite's writer under
/// the submissions; `CheckResultsJSONTests` compares the three.
enum CheckResultsJSON {
    static func text(_ checks: [CheckResult]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(96 * checks.count + 2)
        out.append(UInt8(ascii: "["))
        for (offset, check) in checks.enumerated() {
            if offset > 0 { out.append(UInt8(ascii: ",")) }
            append(check, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
    }

    /// One result: its members in the order of their names.
    private static func append(_ check: CheckResult, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        member("check", check.check, first: true, to: &out)
        member("code", check.code, to: &out)
        if let detail = check.detail { member("detail", detail, to: &out) }
        if let differed = check.differed { member("differed", differed, to: &out) }
        if let disposition = check.disposition { member("disposition", disposition.rawValue, to: &out) }
        if let field = check.field { member("field", field, to: &out) }
        if let matched = check.matched { member("matched", matched, to: &out) }
        key("passed", first: false, to: &out)
        out.append(contentsOf: check.passed ? "true".utf8 : "false".utf8)
        out.append(UInt8(ascii: "}"))
    }

    private static func key(_ name: StaticString, first: Bool, to out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(contentsOf: "\":".utf8)
    }

    private static func member(_ name: StaticString, _ text: String, first: Bool = false, to out: inout [UInt8]) {
        key(name, first: first, to: &out)
        AuditJSON.append(text, escapingSlashes: true, to: &out)
    }

    private static func member(_ name: StaticString, _ texts: [String], to out: inout [UInt8]) {
        key(name, first: false, to: &out)
        AuditJSON.append(texts, to: &out)
    }
}
