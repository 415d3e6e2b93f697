import Foundation
import Testing

/// Runs the real `shiming idcheck` executable, as other tools will.
enum ShimingExecutable {
    static var url: URL? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shiming"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug/shiming"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs with the arguments, feeding `input` on standard input; returns (status, stdout, stderr).
    static func run(_ arguments: [String], input: Data = Data(), environment: [String: String] = [:]) throws -> (Int32, Data, String) {
        let process = Process()
        let executable: URL = try #require(url, "build the shiming executable first (swift build)")
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }  // no configuration needed
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // Write and read concurrently so large inputs cannot deadlock on full pipes.
        let writer = Thread {
            stdin.fileHandleForWriting.write(input)
            try? stdin.fileHandleForWriting.close()
        }
        writer.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output, errors)
    }

    static func lines(_ data: Data) throws -> [[String: Any]] {
        try data.split(separator: 0x0A).map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        }
    }
}

@Suite("shiming idcheck")
struct IDCheckCommandTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/resident_id_corpus.tsv")

    @Test("streams the whole shared corpus and agrees with it on every line, facts included")
    func corpusAgreement() throws {
        let rows = try String(contentsOf: Self.corpus, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let input = Data(rows.map { $0[0] }.joined(separator: "\n").utf8 + [0x0A])
        let (status, output, errors) = try ShimingExecutable.run(["idcheck", "--today", "2026-11-21"], input: input)
        #expect(status == 0, "\(errors)")
        let results = try ShimingExecutable.lines(output)
        #expect(results.count == rows.count)
        var disagreements: [String] = []
        for (row, result) in zip(rows, results) {
            let expectedValid = row[1] == "1"
            guard result["input"] as? String == row[0] else {
                disagreements.append("order: \(row[0]) vs \(result["input"] ?? "")")
                continue
            }
            guard result["valid"] as? Bool == expectedValid else {
                disagreements.append("\(row[0]): \(result)")
                continue
            }
            if expectedValid {
                let facts = [result["type"], result["birthDate"], result["gender"], result["region"]].map { $0 as? String ?? "" }
                if facts != [row[2], row[3], row[4], row[5]] { disagreements.append("\(row[0]): \(facts)") }
                if result["regionName"] as? String == nil { disagreements.append("\(row[0]): no region name") }
                if result["regionActive"] as? Bool == nil { disagreements.append("\(row[0]): no regionActive") }
            } else if result["error"] as? String == nil {
                disagreements.append("\(row[0]): no error code")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements: \(disagreements.prefix(5))")
    }

    @Test("numbers given as arguments produce the contract's JSON lines, in order")
    func arguments() throws {
        let (status, output, _) = try ShimingExecutable.run([
            "idcheck", "--today", "2026-11-21", "11010519491231002x", "110105194912310021", "91110000600037341L",
        ])
        #expect(status == 0)
        let text = String(decoding: output, as: UTF8.self)
        #expect(text == """
            {"input":"11010519491231002x","valid":true,"type":"resident_id","normalized":"11010519491231002X","birthDate":"1949-12-31","gender":"female","region":"110105","regionName":"北京市朝阳区","regionActive":true}
            {"input":"110105194912310021","valid":false,"type":"resident_id","error":"invalid_checksum"}
            {"input":"91110000600037341L","valid":true,"type":"uscc","normalized":"91110000600037341L"}

            """)
    }

    @Test("--type forces the document type; odd input is escaped, CRLF and a missing last newline are handled")
    func typesAndEscaping() throws {
        let input = Data("911522010783762860\r\n\"quoted\\\"\n91110000600037341L".utf8)
        let (status, output, _) = try ShimingExecutable.run(["idcheck", "--type", "uscc"], input: input)
        #expect(status == 0)
        let results = try ShimingExecutable.lines(output)
        #expect(results.count == 3)
        #expect(results[0]["valid"] as? Bool == true)
        #expect(results[1]["input"] as? String == "\"quoted\\\"")
        #expect(results[1]["type"] as? String == "uscc")
        #expect(results[2]["valid"] as? Bool == true)
    }

    @Test("a usage error exits 2 with help; an empty input exits 0 with no output")
    func usage() throws {
        let (badStatus, _, errors) = try ShimingExecutable.run(["idcheck", "--type", "bogus"])
        #expect(badStatus == 2)
        #expect(errors.contains("unknown type bogus"))
        let (status, output, _) = try ShimingExecutable.run(["idcheck"])
        #expect(status == 0)
        #expect(output.isEmpty)
    }
}
