/// An incremental RFC 4180 CSV reader: feed it byte chunks as they arrive, take the complete
/// records out. Quoted fields may hold commas, doubled quotes and line breaks; CRLF and LF both
/// end a record; a UTF-8 byte-order mark at the start is skipped. Memory stays at one record.
public struct CSVReader: Sendable {
    public struct Record: Sendable, Equatable {
        /// The 1-based line on which the record starts.
        public var line: Int
        public var fields: [String]
    }

    private var field: [UInt8] = []
    private var fields: [String] = []
    private var inQuotes = false
    private var quoteSeen = false  // a quote inside a quoted field: either "" or the closing quote
    private var afterCR = false
    private var line = 1
    private var recordLine = 1
    private var started = false
    private var bomChecked = false
    private var bomBuffer: [UInt8] = []
    private var recordHasContent = false

    public init() {}

    /// Reads a chunk and returns the records it completed.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [Record] where Bytes.Element == UInt8 {
        var records = Records()
        read(bytes, into: &records)
        return records.list
    }

    /// Reads a chunk of memory and returns the records it completed, in one flat list
    /// (`read` specialised here, where other modules cannot).
    public mutating func records(_ bytes: UnsafeRawBufferPointer) -> Records {
        var records = Records()
        read(bytes, into: &records)
        return records
    }

    private mutating func read<Bytes: Sequence>(_ bytes: Bytes, into records: inout Records) where Bytes.Element == UInt8 {
        for byte in bytes {
            if !bomChecked {
                bomBuffer.append(byte)
                if bomBuffer.count < 3 && [0xEF, 0xBB, 0xBF].starts(with: bomBuffer) { continue }
                bomChecked = true
                let pending = bomBuffer == [0xEF, 0xBB, 0xBF] ? [] : bomBuffer
                bomBuffer = []
                for b in pending { consume(b, into: &records) }
                continue
            }
            consume(byte, into: &records)
        }
    }

    /// Ends the input: the last record, if it had no line break after it.
    public mutating func finish() -> Records {
        var records = Records()
        if !bomChecked, !bomBuffer.isEmpty {
            bomChecked = true
            for b in bomBuffer where bomBuffer != [0xEF, 0xBB, 0xBF] { consume(b, into: &records) }
        }
        if recordHasContent || !field.isEmpty || !fields.isEmpty || inQuotes { endRecord(into: &records) }
        return records
    }

    private mutating func consume(_ byte: UInt8, into records: inout Records) {
        if afterCR {
            afterCR = false
            if byte == 0x0A { return }  // CRLF: the CR ended the record
        }
        if inQuotes {
            if quoteSeen {
                quoteSeen = false
                if byte == UInt8(ascii: "\"") { field.append(byte); return }
                inQuotes = false  // the quote closed the field; handle this byte normally below
            } else if byte == UInt8(ascii: "\"") {
                quoteSeen = true
                return
            } else {
                if byte == 0x0A { line += 1 }
                field.append(byte)
                return
            }
        }
        switch byte {
        case UInt8(ascii: ","):
            endField()
            recordHasContent = true
        case 0x0A, 0x0D:
            if byte == 0x0D { afterCR = true }
            if recordHasContent || !field.isEmpty || !fields.isEmpty { endRecord(into: &records) }
            line += 1
            recordLine = line
        case UInt8(ascii: "\"") where field.isEmpty:
            inQuotes = true
            recordHasContent = true
        default:
            field.append(byte)
            recordHasContent = true
        }
    }

    private mutating func endField() {
        fields.append(String(decoding: field, as: UTF8.self))
        field.removeAll(keepingCapacity: true)
    }

    private mutating func endRecord(into records: inout Records) {
        inQuotes = false
        quoteSeen = false
        endField()
        records.append(line: recordLine, fields: fields)
        fields.removeAll(keepingCapacity: true)  // unique again: no allocation per record
        recordHasContent = false
    }
}

extension String {
    /// The string without leading and trailing white space and line breaks; plain Swift
    /// (Foundation's `trimmingCharacters` goes through `NSString` on Linux and is slow per call).
    public var trimmedWhitespace: String {
        let scalars = unicodeScalars
        // Most values start and end with a letter or digit: no white space lies in these ranges.
        func plainlyNotSpace(_ scalar: Unicode.Scalar) -> Bool {
            (0x21..<0x7F).contains(scalar.value) || (0x3001..<0xD800).contains(scalar.value)
        }
        if let first = scalars.first, let last = scalars.last, plainlyNotSpace(first), plainlyNotSpace(last) { return self }
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex, last == scalars.index(before: scalars.endIndex) { return self }
        return String(scalars[first...last])
    }
}
