/// Shared input clean-up: what people type around numbers (spaces, hyphens, full-width forms)
/// is removed before rules apply.
public enum Normalization {
    /// Converts full-width ASCII forms (Ａ, １, －, 　) to ASCII and drops spaces, hyphens and
    /// similar separators. Letter case is kept: each document decides what case means.
    /// Input that is already plain ASCII letters and digits comes back as it is, without copying.
    static func compactSeparators(_ input: String) -> String {
        if isPlainAlphanumeric(input) { return input }
        var result = String.UnicodeScalarView()
        for scalar in input.unicodeScalars {
            let ascii = halfWidth(scalar)
            switch ascii.value {
            case 0x20, 0x09, 0x0A, 0x0D, 0xA0, 0x2D, 0x2010...0x2015, 0x2212, 0x5F, 0x2E, 0xB7, 0x2F:
                continue  // space, tabs, NBSP, hyphens and dashes, underscore, dot, middle dot, slash
            default:
                result.append(ascii)
            }
        }
        return String(result)
    }

    /// Maps a full-width ASCII variant (U+FF01…U+FF5E) and the ideographic space to ASCII.
    @inline(__always)
    public static func halfWidth(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        switch scalar.value {
        case 0xFF01...0xFF5E: Unicode.Scalar(scalar.value - 0xFEE0)!
        case 0x3000: " "
        default: scalar
        }
    }

    /// Whether every byte is an ASCII letter or digit (nothing to compact).
    @inline(__always)
    static func isPlainAlphanumeric(_ input: String) -> Bool {
        var input = input
        return input.withUTF8 { bytes in
            for byte in bytes where !(isDigit(byte) || isUpper(byte & 0xDF)) { return false }
            return true
        }
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }

    @inline(__always)
    static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }

    /// Whether every byte in the range is an ASCII digit.
    @inline(__always)
    static func allDigits(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        for i in range where !isDigit(bytes[i]) { return false }
        return true
    }

    /// The decimal value of ASCII digits in the range (caller checked they are digits).
    @inline(__always)
    static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int {
        var value = 0
        for i in range { value = value &* 10 &+ Int(bytes[i] &- 0x30) }
        return value
    }

    /// Runs `body` over the string's UTF-8 bytes, copying only when the string has no
    /// contiguous storage (bridged strings).
    @inline(__always)
    static func withBytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) throws(DocumentError) -> R) throws(DocumentError) -> R {
        var string = string
        let result: Result<R, DocumentError> = string.withUTF8 { buffer in
            do throws(DocumentError) { return .success(try body(buffer)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
