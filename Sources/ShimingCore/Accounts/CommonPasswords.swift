/// Frequently used passwords that meet the length and class rules (all lower-case); a
/// password whose lower-cased form is listed is refused.
enum CommonPasswords {
    static let list: Set<String> = [
        "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty123",
        "qwerty1234", "1qaz2wsx", "1q2w3e4r", "1q2w3e4r5t", "zaq12wsx", "abc12345",
        "abcd1234", "abc123456", "a1234567", "a12345678", "aa123456", "aa12345678",
        "iloveyou1", "admin123", "admin1234", "administrator1", "welcome1", "welcome123",
        "letmein1", "monkey123", "dragon123", "sunshine1", "princess1", "football1",
        "baseball1", "superman1", "trustno1!", "123456abc", "12345678a", "123456789a",
        "123qweasd", "qweasd123", "qwe12345", "asd12345", "zxc12345", "1234qwer",
        "qwer1234", "asdf1234", "zxcv1234", "q1w2e3r4", "q1w2e3r4t5", "woaini1314",
        "woaini520", "5201314a", "wang1234", "zhang123", "li123456", "aini1314",
        "admin888", "abc888888", "a123456789", "88888888a", "a11111111", "11111111a",
        "1234abcd", "12qwaszx", "qazwsx123", "qazwsxedc1", "pass1234", "test1234",
        "test12345", "changeme1", "shiming123", "shiming2026", "password2026", "password2025",
        "china123", "beijing123", "shanghai123", "abcdefg1", "abcdefg123",
    ]
}
