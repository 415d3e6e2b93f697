import Foundation

extension UUID {
    /// A version 7 UUID (RFC 9562, section 5.7): its first 48 bits are `time` in milliseconds
    /// since 1970, then the version, 12 random bits, the variant and 62 random bits.
    ///
    /// For the rows that are only ever appended, many to a write (audit events, a case's
    /// history, outbox messages): their primary key's index then grows at its end, and the
    /// entries of one write group share a page or two. With random ids each entry landed on a
    /// page of its own anywhere in the index, a page the group wrote to the log and the next
    /// checkpoint copied back into the file (SQLite), or wrote whole after each checkpoint
    /// (PostgreSQL's full-page writes). Under the submission load the three indexes took a third
    /// of the pages SQLite wrote (docs/benchmarks.md, session 28).
    ///
    /// Not for ids that are capabilities or that others see without the row's time: the time of
    /// creation can be read from them. Times before 1970 or after the year 10889 are clamped.
    static func timeOrdered(at time: Date, using generator: inout some RandomNumberGenerator) -> UUID {
        let milliseconds = UInt64(max(0, min((time.timeIntervalSince1970 * 1000).rounded(.down), Double(Self.largestMilliseconds))))
        let random = generator.next()
        let more = generator.next()
        var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { out in
            for index in 0..<6 { out[index] = UInt8(truncatingIfNeeded: milliseconds >> (40 - 8 * index)) }
            for index in 6..<16 { out[index] = UInt8(truncatingIfNeeded: (index < 8 ? more : random) >> (8 * (index & 7))) }
            out[6] = 0x70 | out[6] & 0x0F
            out[8] = 0x80 | out[8] & 0x3F
        }
        return UUID(uuid: bytes)
    }

    /// The same, from the system's random numbers, drawn in one call (`SystemRandomNumberGenerator`
    /// asks the kernel once for each of the two numbers; an audit event's id is made on the
    /// writer's thread).
    static func timeOrdered(at time: Date) -> UUID {
        var generator = DrawnAtOnce()
        return timeOrdered(at: time, using: &generator)
    }

    /// The largest time a version 7 UUID holds, in milliseconds since 1970 (48 bits).
    static let largestMilliseconds: UInt64 = (1 << 48) - 1
}

/// Two random numbers from the system, drawn in one call (`arc4random_buf`: one `getrandom`);
/// any after them from `SystemRandomNumberGenerator`.
private struct DrawnAtOnce: RandomNumberGenerator {
    private var words: (UInt64, UInt64) = (0, 0)
    private var given = 0

    init() {
        withUnsafeMutableBytes(of: &words) { arc4random_buf($0.baseAddress!, $0.count) }
    }

    mutating func next() -> UInt64 {
        given += 1
        switch given {
        case 1: return words.0
        case 2: return words.1
        default:
            var system = SystemRandomNumberGenerator()
            return system.next()
        }
    }
}
