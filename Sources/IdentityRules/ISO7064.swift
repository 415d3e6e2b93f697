/// ISO 7064 check-character systems used by Chinese identity documents.
public enum ISO7064 {
    /// Weights of positions 1…17 for MOD 11-2: 2^(18−i) mod 11.
    static let mod11_2Weights: [Int] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

    /// The MOD 11-2 check character (`0`–`9` or `X`) for 17 ASCII digits, as in GB 11643-1999;
    /// `nil` when the input is not exactly 17 digits.
    public static func mod11_2CheckCharacter<S: StringProtocol>(for digits: S) -> Character? {
        var sum = 0
        var count = 0
        for byte in digits.utf8 {
            guard count < 17, byte >= 0x30, byte <= 0x39 else { return nil }
            sum += Int(byte - 0x30) * mod11_2Weights[count]
            count += 1
        }
        guard count == 17 else { return nil }
        let value = (12 - sum % 11) % 11
        return value == 10 ? "X" : Character(String(value))
    }

    /// The check value (0…10) for the first 17 bytes, which the caller has checked are digits.
    @inline(__always)
    static func mod11_2Value(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        // Unrolled weights: the compiler keeps them in registers, no array access.
        var sum = Int(bytes[0] &- 0x30) &* 7
        sum &+= Int(bytes[1] &- 0x30) &* 9
        sum &+= Int(bytes[2] &- 0x30) &* 10
        sum &+= Int(bytes[3] &- 0x30) &* 5
        sum &+= Int(bytes[4] &- 0x30) &* 8
        sum &+= Int(bytes[5] &- 0x30) &* 4
        sum &+= Int(bytes[6] &- 0x30) &* 2
        sum &+= Int(bytes[7] &- 0x30) &* 1
        sum &+= Int(bytes[8] &- 0x30) &* 6
        sum &+= Int(bytes[9] &- 0x30) &* 3
        sum &+= Int(bytes[10] &- 0x30) &* 7
        sum &+= Int(bytes[11] &- 0x30) &* 9
        sum &+= Int(bytes[12] &- 0x30) &* 10
        sum &+= Int(bytes[13] &- 0x30) &* 5
        sum &+= Int(bytes[14] &- 0x30) &* 8
        sum &+= Int(bytes[15] &- 0x30) &* 4
        sum &+= Int(bytes[16] &- 0x30) &* 2
        return (12 - sum % 11) % 11
    }
}
