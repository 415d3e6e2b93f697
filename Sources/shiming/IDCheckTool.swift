#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import IdentityRules

/// `shiming idcheck [--type auto|resident|hmt|fpr|passport|hkmo|tw|uscc|mobile|email|name]
/// [--today YYYY-MM-DD] [NUMBER ...]`: one JSON object per input, in order. With no numbers it
/// streams standard input line by line in constant memory. Runs without configuration, data
/// directory or database. Exit 0 once the input could be read, whatever the verdicts; 2 for a
/// usage error; 1 when reading or writing fails.
enum IDCheckTool {
    static let usage = """
        usage: shiming idcheck [--type TYPE] [--today YYYY-MM-DD] [NUMBER ...]
          TYPE: auto (default), resident, hmt, fpr, passport, hkmo, tw, uscc, mobile, email, name
                (or a type name such as resident_id, cn_passport)
          Without NUMBERs, reads one per line from standard input.
          Writes one JSON object per input line, e.g.
          {"input":"11010519491231002X","valid":true,"type":"resident_id","normalized":"11010519491231002X",
           "birthDate":"1949-12-31","gender":"female","region":"110105","regionName":"北京市朝阳区","regionActive":true}
        """

    static func run(_ arguments: [String]) -> Int32 {
        var selection = DocumentCheck.Selection.auto
        var today = CivilDate(unixSeconds: Int64(time(nil)))
        var numbers: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--help", "-h":
                print(usage)
                return 0
            case "--type", "-t", "--today":
                guard index + 1 < arguments.count else { return fail("\(argument) needs a value") }
                let value = arguments[index + 1]
                if argument == "--today" {
                    guard let date = CivilDate(iso: value) else { return fail("--today must be YYYY-MM-DD, got \(value)") }
                    today = date
                } else {
                    guard let parsed = DocumentCheck.Selection(argument: value) else { return fail("unknown type \(value)") }
                    selection = parsed
                }
                index += 2
                continue
            case "--":
                numbers.append(contentsOf: arguments[(index + 1)...])
                index = arguments.count
                continue
            default:
                if argument.hasPrefix("--") { return fail("unknown option \(argument)") }
                numbers.append(argument)
            }
            index += 1
        }

        var writer = OutputWriter()
        var report = CheckReport()
        if !numbers.isEmpty {
            for number in numbers {
                report.append(DocumentCheck.check(number, as: selection, today: today), to: &writer.buffer)
                guard writer.flushIfFull() else { return 1 }
            }
            return writer.flush() ? 0 : 1
        }

        // Stream standard input: fixed-size reads, complete lines checked in place, the
        // unfinished tail carried into the next read. Memory stays constant.
        var pending: [UInt8] = []
        pending.reserveCapacity(1 << 20)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return fail("cannot read standard input", code: 1)
            }
            if count == 0 { break }
            pending.append(contentsOf: chunk[0..<count])
            let consumed = pending.withUnsafeBufferPointer { bytes in
                var lineStart = 0
                for index in 0..<bytes.count where bytes[index] == 0x0A {
                    handle(UnsafeBufferPointer(rebasing: bytes[lineStart..<index]), selection, today, &report, &writer)
                    lineStart = index + 1
                }
                return lineStart
            }
            pending.removeFirst(consumed)
            guard writer.flushIfFull() else { return 1 }
        }
        if !pending.isEmpty {
            pending.withUnsafeBufferPointer { handle($0, selection, today, &report, &writer) }
        }
        return writer.flush() ? 0 : 1
    }

    @inline(__always)
    static func handle(
        _ line: UnsafeBufferPointer<UInt8>, _ selection: DocumentCheck.Selection, _ today: CivilDate,
        _ report: inout CheckReport, _ writer: inout OutputWriter
    ) {
        let trimmed = line.last == 0x0D ? UnsafeBufferPointer(rebasing: line.dropLast()) : line  // CRLF files
        report.appendLine(trimmed, as: selection, today: today, to: &writer.buffer)
    }

    static func fail(_ message: String, code: Int32 = 2) -> Int32 {
        var text = Array("shiming idcheck: \(message)\n".utf8)
        if code == 2 { text += Array((usage + "\n").utf8) }
        _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        return code
    }
}

/// Buffered writes to standard output.
struct OutputWriter {
    var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 17) }

    /// Writes once the buffer holds 64 KiB; false when the output is gone.
    mutating func flushIfFull() -> Bool {
        buffer.count >= 1 << 16 ? flush() : true
    }

    mutating func flush() -> Bool {
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        buffer.removeAll(keepingCapacity: true)
        return true
    }
}
