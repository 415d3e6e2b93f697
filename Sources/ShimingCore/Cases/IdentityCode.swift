/// The identity code (身份识别码) a verified person receives (P1): twelve characters from
/// Crockford's base-32 alphabet (no I, L, O, U), eleven random and one check character by the
/// Luhn mod-32 algorithm, which catches every single wrong character and every swap of two
/// neighbours but one: `0Z` ↔ `Z0` (the values 0 and 31, Luhn's own `09` ↔ `90` blind spot).
/// Random, so codes say nothing about order or count. Shown as `XXXX-XXXX-XXXX`.
public enum IdentityCode {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".unicodeScalars)
    static let radix = 32

    /// A new random code (uniqueness is the store's job: it draws again on a collision).
    public static func generate(using random: any RandomSource) -> String {
        let body = random.bytes(11).map { alphabet[Int($0) % radix] }  // 256 is a multiple of 32: no bias
        var view = String.UnicodeScalarView()
        view.append(contentsOf: body)
        view.append(checkCharacter(for: body))
        return String(view)
    }

    /// The check character for a body of alphabet characters.
    static func checkCharacter(for body: [Unicode.Scalar]) -> Unicode.Scalar {
        var sum = 0
        var factor = 2
        for scalar in body.reversed() {
            guard let value = alphabet.firstIndex(of: scalar) else { return "?" }
            let product = value * factor
            sum += product / radix + product % radix
            factor = factor == 2 ? 1 : 2
        }
        return alphabet[(radix - sum % radix) % radix]
    }

    /// The code without separators, upper-cased, with the look-alikes Crockford allows (O→0, I/L→1).
    public static func compact(_ input: String) -> String {
        String(String.UnicodeScalarView(input.uppercased().unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
            switch scalar {
            case "-", " ": nil
            case "O": "0"
            case "I", "L": "1"
            default: scalar
            }
        }))
    }

    /// Whether a code (with or without hyphens) is well-formed and its check character agrees.
    public static func isValid(_ input: String) -> Bool {
        let scalars = Array(compact(input).unicodeScalars)
        guard scalars.count == 12, scalars.allSatisfy(alphabet.contains) else { return false }
        return checkCharacter(for: Array(scalars.dropLast())) == scalars.last
    }

    /// `XXXX-XXXX-XXXX`.
    public static func format(_ code: String) -> String {
        let scalars = Array(compact(code).unicodeScalars)
        guard scalars.count == 12 else { return code }
        return [0, 4, 8].map { String(String.UnicodeScalarView(scalars[$0..<$0 + 4])) }.joined(separator: "-")
    }
}
