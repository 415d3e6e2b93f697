/// The audit chain's two JSON texts, written directly: an event's fields (an array of strings,
/// hashed into the chain) and its details (a map of strings, stored). Every state change
/// records an event inside the write gate, and two `JSONEncoder` runs per event cost the writer
/// more than the hash itself.
///
/// The bytes are exactly those `JSONEncoder` writes for the same values, with the options
/// noted on each function: the hashes of the events already in every deployment's chain depend
/// on them. `AuditJSONTests` compares the two for every character of the Basic Multilingual
/// Plane, characters beyond it, and random maps.
enum AuditJSON {
    /// `JSONEncoder().encode(strings)`, default options (a `/` is written `\/`).
    static func array(_ strings: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(strings.reduce(2) { $0 + $1.utf8.count + 3 })
        append(strings, to: &out)
        return out
    }

    /// `array(strings)` appended to `out`.
    static func append(_ strings: [String], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, string) in strings.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(string, escapingSlashes: true, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` for a map of strings.
    static func object(_ map: [String: String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, key) in map.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            append(key, escapingSlashes: false, to: &out)
            out.append(UInt8(ascii: ":"))
            append(map[key] ?? "", escapingSlashes: false, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string as `JSONEncoder` writes it: quotation mark, backslash and control
    /// characters escaped (the five with a short form by it, the others as `\u00xx`), `/` as
    /// `\/` when `escapingSlashes`, everything else as its UTF-8 bytes. `SortedJSON` writes its
    /// strings with it too.
    static func append(_ string: String, escapingSlashes: Bool, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var string = string
        // Its bytes in one buffer: looked through, and most often (ids, codes, times: nothing
        // to escape) copied at once.
        string.withUTF8 { bytes in
            var plain = true
            for byte in bytes where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (escapingSlashes && byte == UInt8(ascii: "/")) {
                plain = false
                break
            }
            guard !plain else { return out.append(contentsOf: bytes) }
            // Byte by byte into `out` (an array literal per escape was an allocation each: a
            // query's audit details, `{"key":"…"}`, have four quotation marks).
            let digits: StaticString = "0123456789abcdef"
            for byte in bytes {
                let short: UInt8? = switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): byte
                case UInt8(ascii: "/") where escapingSlashes: byte
                case 0x08: UInt8(ascii: "b")
                case 0x09: UInt8(ascii: "t")
                case 0x0A: UInt8(ascii: "n")
                case 0x0C: UInt8(ascii: "f")
                case 0x0D: UInt8(ascii: "r")
                default: nil
                }
                if let short {
                    out.append(UInt8(ascii: "\\"))
                    out.append(short)
                } else if byte < 0x20 {
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    digits.withUTF8Buffer { hex in
                        out.append(hex[Int(byte >> 4)])
                        out.append(hex[Int(byte & 0x0F)])
                    }
                } else {
                    out.append(byte)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
