/// What a password must be: at least 8 characters, characters from at least two classes
/// (letters, digits, symbols), and not one of the commonly used passwords shipped with Shiming.
public struct PasswordPolicy: Sendable {
    /// Minimum length in characters.
    public var minimumLength = 8
    /// Maximum length in bytes (bcrypt reads at most 72 bytes; longer input is refused rather
    /// than silently truncated).
    public var maximumBytes = 72

    /// The default policy.
    public init() {}

    /// Checks a password; throws the first rule it breaks.
    public func check(_ password: String, context: [String] = []) throws(PasswordProblem) {
        guard password.count >= minimumLength else { throw .tooShort }
        guard password.utf8.count <= maximumBytes else { throw .tooLong }
        var classes = 0
        if password.contains(where: \.isLetter) { classes += 1 }
        if password.contains(where: \.isNumber) { classes += 1 }
        if password.contains(where: { !$0.isLetter && !$0.isNumber }) { classes += 1 }
        guard classes >= 2 else { throw .singleClass }
        let lowered = password.lowercased()
        guard !CommonPasswords.list.contains(lowered) else { throw .common }
        for value in context where value.count >= 4 && lowered.contains(value.lowercased()) {
            throw .containsPersonalData
        }
    }
}

/// Why a password was refused; the raw value is the field error code.
public enum PasswordProblem: String, Error, Sendable, CaseIterable {
    case tooShort = "password_too_short"
    case tooLong = "password_too_long"
    case singleClass = "password_single_class"
    case common = "password_common"
    case containsPersonalData = "password_contains_personal_data"

    /// What to tell the user.
    public var message: LocalizedText {
        switch self {
        case .tooShort: LocalizedText("密码至少需要 8 个字符。", "The password needs at least 8 characters.")
        case .tooLong: LocalizedText("密码太长（最多 72 个字节）。", "The password is too long (72 bytes at most).")
        case .singleClass: LocalizedText("密码需要包含字母、数字、符号中的至少两种。", "Use at least two of: letters, digits, symbols.")
        case .common: LocalizedText("这个密码太常见，很容易被猜到，请换一个。", "This password is too common and easy to guess; choose another.")
        case .containsPersonalData: LocalizedText("密码不能包含您的用户名、手机号或邮箱。", "The password must not contain your username, phone or e-mail.")
        }
    }
}
