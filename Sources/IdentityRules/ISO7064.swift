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
}
