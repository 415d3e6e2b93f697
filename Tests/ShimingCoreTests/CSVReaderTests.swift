import Testing
@testable import ShimingCore

@Suite struct CSVReaderTests {
    func read(_ text: String, chunk: Int = 1 << 20) -> [CSVReader.Record] {
        var reader = CSVReader()
        let bytes = Array(text.utf8)
        var records: [CSVReader.Record] = []
        var start = 0
        while start < bytes.count {
            records += reader.feed(bytes[start..<min(start + chunk, bytes.count)])
            start += chunk
        }
        return records + reader.finish()
    }

    @Test func quotedFieldsLineBreaksAndCRLF() {
        let text = "\u{FEFF}name,note\r\n\"王, 小明\",\"say \"\"hi\"\"\"\r\n李四,\"two\nlines\"\n\n赵六,\n"
        let expected = [
            CSVReader.Record(line: 1, fields: ["name", "note"]),
            CSVReader.Record(line: 2, fields: ["王, 小明", "say \"hi\""]),
            CSVReader.Record(line: 3, fields: ["李四", "two\nlines"]),
            CSVReader.Record(line: 6, fields: ["赵六", ""]),
        ]
        #expect(read(text) == expected)
        // The same records whatever the chunk boundaries (inside the BOM, a quote pair, a CRLF, a UTF-8 character).
        for size in 1...7 { #expect(read(text, chunk: size) == expected, "chunk \(size)") }
    }

    @Test func aLastLineWithoutBreakAndNoBOM() {
        #expect(read("a,b\n1,2") == [.init(line: 1, fields: ["a", "b"]), .init(line: 2, fields: ["1", "2"])])
        #expect(read("") == [])
        #expect(read("\u{FEFF}") == [])
        #expect(read("x") == [.init(line: 1, fields: ["x"])])
    }
}
