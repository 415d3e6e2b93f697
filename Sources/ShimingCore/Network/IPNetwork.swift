import Foundation

/// An IP address (v4 or v6) as 16 bytes, v4 addresses mapped into `::ffff:0:0/96`.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Parses `203.0.113.7`, `2001:db8::1`, `::ffff:203.0.113.7`, `[2001:db8::1]`; nil otherwise.
    public init?(_ text: String) {
        // The common form (a plain dotted quad, as every request's peer and forwarded hop is
        // on IPv4) is read from its bytes, without the character-level steps below.
        if let v4 = text.utf8.withContiguousStorageIfAvailable(Self.dottedQuad) ?? nil {
            bytes = Self.v4Prefix + v4
            return
        }
        var text = Substring(text.trimmingCharacters(in: .whitespaces))
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        if let v4 = Self.parseV4(text) {
            bytes = Self.v4Prefix + v4
        } else if let v6 = Self.parseV6(text) {
            bytes = v6
        } else {
            return nil
        }
    }

    /// Whether it is an IPv4 address (mapped).
    public var isV4: Bool { bytes.prefix(12).elementsEqual(Self.v4Prefix) }

    /// The first 12 bytes of every mapped IPv4 address (`::ffff:0:0/96`).
    static let v4Prefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]

    public var description: String {
        if isV4 { return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])" }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    static func parseV4(_ text: Substring) -> [UInt8]? {
        text.utf8.withContiguousStorageIfAvailable(dottedQuad) ?? dottedQuad(Array(text.utf8))
    }

    /// Four decimal numbers 0–255 separated by dots, without leading zeros (`010` is refused:
    /// some readers take it as octal); nil for anything else.
    static func dottedQuad(_ utf8: some Sequence<UInt8>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(4)
        var (value, digits, leadingZero) = (0, 0, false)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "."):
                guard digits > 0, out.count < 3 else { return nil }
                out.append(UInt8(value))
                (value, digits, leadingZero) = (0, 0, false)
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard !leadingZero, digits < 3 else { return nil }
                leadingZero = digits == 0 && byte == UInt8(ascii: "0")
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                digits += 1
                guard value <= 255 else { return nil }
            default:
                return nil
            }
        }
        guard digits > 0, out.count == 3 else { return nil }
        out.append(UInt8(value))
        return out
    }

    static func parseV6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains("."), let v4 = parseV4(piece) { out += v4; continue }
                guard (1...4).contains(piece.count), let value = UInt16(piece, radix: 16) else { return nil }
                out += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`, or one address).
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    public let address: IPAddress
    /// The prefix length over the 16-byte form (an IPv4 `/8` is `/104`).
    public let prefix: Int
    public let text: String

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isV4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maximum).contains(given), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = given
        }
        self.address = address
        prefix = address.isV4 ? 96 + length : length
        self.text = trimmed
    }

    public var description: String { text }

    public func contains(_ other: IPAddress) -> Bool {
        var remaining = prefix
        for index in 0..<16 where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if address.bytes[index] & mask != other.bytes[index] & mask { return false }
            remaining -= bits
        }
        return true
    }
}

/// Which address a request came from when it passed through proxies Shiming trusts: the
/// right-most address in `X-Forwarded-For` (or `Forwarded: for=`) that is not one of them. A
/// request from anywhere else is its direct peer, whatever headers it sends.
public enum ClientAddress {
    public static func resolve(peer: String?, forwardedFor: [String], forwarded: [String], trusted: [IPNetwork]) -> String? {
        guard let peer, let peerAddress = IPAddress(peer) else { return peer }
        guard trusted.contains(where: { $0.contains(peerAddress) }) else { return peer }
        var hops = forwarded.flatMap(forwardedFors)
        if hops.isEmpty { hops = forwardedFor.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
        var client = peerAddress
        for hop in hops.reversed() {
            guard let address = IPAddress(stripPort(hop)) else { break }
            client = address
            if !trusted.contains(where: { $0.contains(address) }) { break }
        }
        return client.description
    }

    /// The `for=` values of a `Forwarded` header (RFC 7239), in order.
    static func forwardedFors(_ header: String) -> [String] {
        header.split(separator: ",").compactMap { element in
            element.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                .first { $0.lowercased().hasPrefix("for=") }
                .map { String($0.dropFirst(4)).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
    }

    /// `203.0.113.7:4711` → `203.0.113.7`, `[2001:db8::1]:4711` → `2001:db8::1`.
    static func stripPort(_ hop: String) -> String {
        if hop.hasPrefix("["), let end = hop.firstIndex(of: "]") { return String(hop[hop.index(after: hop.startIndex)..<end]) }
        let colons = hop.filter { $0 == ":" }.count
        if colons == 1, let colon = hop.firstIndex(of: ":") { return String(hop[..<colon]) }
        return hop
    }
}
