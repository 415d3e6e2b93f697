/// 统一社会信用代码 (GB 32100-2015): the 18-character identifier of every organisation.
///
/// Layout: registration authority (1) · organisation type (1) · division code of the
/// registering office (6) · organisation code (9, GB 11714) · check character (1). All
/// characters come from a 31-character alphabet without I, O, Z, S and V; the check character
/// is 31 − (Σ value × 3^i mod 31) mod 31.
public enum UnifiedSocialCreditCode {
    /// The alphabet in value order.
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHJKLMNPQRTUWXY".utf8)

    /// Value of each ASCII byte in the alphabet, or -1.
    static let values: [Int8] = {
        var table = [Int8](repeating: -1, count: 128)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = Int8(value) }
        return table
    }()

    /// 3^i mod 31 for positions 0…16.
    static let weights: [Int] = (0..<17).map { position in
        (0..<position).reduce(1) { product, _ in product * 3 % 31 }
    }

    /// Organisation types allowed for each registration authority (GB 32100-2015, table 1, with
    /// the later additions A and N).
    static let typesByAuthorityTable: [UInt8: Set<UInt8>] = [
        UInt8(ascii: "1"): Set("1239".utf8),   // 机构编制: 机关, 事业单位, 群众团体, 其他
        UInt8(ascii: "2"): Set("19".utf8),     // 外交
        UInt8(ascii: "3"): Set("1234569".utf8), // 司法行政: 律所, 公证处, 法律服务所, 鉴定机构, 仲裁委员会, 其他
        UInt8(ascii: "4"): Set("19".utf8),     // 文化
        UInt8(ascii: "5"): Set("1239".utf8),   // 民政: 社会团体, 民办非企业单位, 基金会, 其他
        UInt8(ascii: "6"): Set("129".utf8),    // 旅游
        UInt8(ascii: "7"): Set("129".utf8),    // 宗教
        UInt8(ascii: "8"): Set("19".utf8),     // 工会
        UInt8(ascii: "9"): Set("123".utf8),    // 工商: 企业, 个体工商户, 农民专业合作社
        UInt8(ascii: "A"): Set("19".utf8),     // 中央军委改革和编制办公室
        UInt8(ascii: "N"): Set("12349".utf8),  // 农业农村: 集体经济组织
        UInt8(ascii: "Y"): Set("1".utf8),      // 其他
    ]

    /// `allowedTypes[authority]` has bit `t` set when type digit `t` is allowed: one load and
    /// one shift on the hot path instead of two hash lookups.
    static let allowedTypes: [UInt16] = {
        var table = [UInt16](repeating: 0, count: 128)
        for (authority, types) in typesByAuthorityTable {
            for type in types where Normalization.isDigit(type) { table[Int(authority)] |= 1 << UInt16(type &- 0x30) }
        }
        return table
    }()

    /// Removes spaces and hyphens and converts full-width forms. Letter case is kept: codes
    /// are printed in capitals, and a lower-case letter is refused rather than guessed.
    public static func compact(_ input: String) -> String {
        Normalization.compactSeparators(input)
    }

    /// Validates a code; throws the first rule it breaks (length, alphabet, authority and type,
    /// region, check character).
    public static func validate(_ input: String) throws(DocumentError) -> String {
        let code = compact(input)
        try Normalization.withBytes(code) { bytes throws(DocumentError) in
            guard bytes.count == 18 else { throw DocumentError.invalidLength }
            var sum = 0
            for i in 0..<18 {
                let byte = bytes[i]
                guard byte < 128, values[Int(byte)] >= 0 else { throw DocumentError.invalidFormat }
                if i < 17 { sum += Int(values[Int(byte)]) * weights[i] }
            }
            guard Normalization.isDigit(bytes[1]), allowedTypes[Int(bytes[0])] & (1 << UInt16(bytes[1] &- 0x30)) != 0 else {
                throw DocumentError.invalidComponent
            }
            guard Normalization.allDigits(bytes, 2..<8) else { throw DocumentError.invalidFormat }
            let province = Normalization.number(bytes, 2..<4)
            // 10 is the central government; otherwise a province-level code.
            guard province == 10 || RegionTable.isProvince(province) else { throw DocumentError.unknownRegion }
            guard Int(values[Int(bytes[17])]) == (31 - sum % 31) % 31 else { throw DocumentError.invalidChecksum }
        }
        return code
    }

    /// Whether the code is valid.
    public static func isValid(_ input: String) -> Bool {
        (try? validate(input)) != nil
    }

    /// The registering office's division code (characters 3–8).
    public static func regionCode(_ input: String) -> String? {
        let code = compact(input)
        guard code.utf8.count == 18 else { return nil }
        return String(code.dropFirst(2).prefix(6))
    }

    /// The code grouped as authority+type, region, organisation code, check: `91 110000 60003734 1L`.
    public static func format(_ input: String) -> String {
        let code = Array(compact(input))
        guard code.count == 18 else { return String(code) }
        return String(code[0..<2]) + " " + String(code[2..<8]) + " " + String(code[8..<17]) + " " + String(code[17])
    }

    /// `9111**********341L`.
    public static func mask(_ input: String) -> String {
        Masking.keep(first: 4, last: 4, of: compact(input))
    }
}
