/// The source of randomness for codes, tokens and identifiers; injected so tests can fix it.
/// Production uses the system CSPRNG.
public protocol RandomSource: Sendable {
    /// Returns `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator.
public struct SystemRandom: RandomSource {
    /// Creates the system generator.
    public init() {}
    /// Eight bytes per draw from the generator (one system call each), not one.
    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { buffer in
            var at = 0
            while at < count {
                let word = generator.next()
                let taken = min(8, count - at)
                withUnsafeBytes(of: word) { buffer.baseAddress!.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: taken) }
                at += taken
            }
        }
        return out
    }
}

extension RandomSource {
    /// A uniformly distributed integer in `0..<bound`, by rejection sampling (no modulo bias).
    public func uniform(below bound: UInt32) -> UInt32 {
        precondition(bound > 0, "bound must be positive")
        let limit = UInt32.max - (UInt32.max % bound)
        while true {
            let b = bytes(4)
            let value = b.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
            if value < limit { return value % bound }
        }
    }
}
