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
        return records + reader.finish().list
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

    @Test func flatRecordsFromMemoryChunksSliceAndJoin() {
        let text = "name,note\n王,\"a,b\"\n李,c\n\"赵\nsix\",\n孙,d,extra"
        var reader = CSVReader()
        let bytes = Array(text.utf8)
        var all = CSVReader.Records()
        for start in stride(from: 0, to: bytes.count, by: 5) {
            let records = bytes[start..<min(start + 5, bytes.count)].withUnsafeBytes { reader.records($0) }
            all.append(0..<records.count, of: records)
        }
        all.append(0..<1, of: reader.finish())
        #expect(all.list == read(text))
        #expect(all.count == 5)
        #expect(Array(all.fields(3)) == ["赵\nsix", ""])
        #expect(all.fields(4).count == 3 && all.fields(4)[2] == "extra")
        #expect(all.lines == [1, 2, 3, 4, 6])
        // A slice, and slices joined again, keep every record whole.
        #expect(all.slice(2..<4).list == Array(all.list[2..<4]))
        var joined = all.slice(0..<2)
        joined.append(2..<5, of: all)
        #expect(joined == all)
        #expect(all.slice(1..<1).isEmpty)
    }
}
