/// A calendar date without time or zone (proleptic Gregorian), as printed in identity numbers.
public struct CivilDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Creates a date if it exists (leap years included); `nil` otherwise.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`.
    public init?(iso text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        self.init(year: y, month: m, day: d)
    }

    /// The date at an instant, seen from a fixed UTC offset (China: +8 h, no daylight saving).
    public init(unixSeconds: Int64, utcOffsetSeconds: Int = 8 * 3600) {
        let days = (unixSeconds + Int64(utcOffsetSeconds)).floorDivided(by: 86_400)
        (year, month, day) = CivilDate.civil(fromDaysSinceEpoch: days)
    }

    /// The earliest birth date Shiming accepts in an identity number.
    public static let earliestBirthDate = CivilDate(year: 1900, month: 1, day: 1)!

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.ordinal < b.ordinal }

    /// `YYYYMMDD` as one integer: orders like the date.
    var ordinal: Int { year * 10_000 + month * 100 + day }

    /// `YYYY-MM-DD`.
    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-"
            + (m.count == 1 ? "0" : "") + m + "-" + (d.count == 1 ? "0" : "") + d
    }

    /// Appends `YYYY-MM-DD` (as `description`) as UTF-8 bytes, for writers that build their
    /// output byte by byte.
    public func append(to out: inout [UInt8]) {
        Self.appendTwoDigits(year / 100, to: &out)
        Self.appendTwoDigits(year % 100, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.appendTwoDigits(month, to: &out)
        out.append(UInt8(ascii: "-"))
        Self.appendTwoDigits(day, to: &out)
    }

    /// Appends a number from 0 to 99 as two digits.
    public static func appendTwoDigits(_ value: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "0") &+ UInt8(value / 10))
        out.append(UInt8(ascii: "0") &+ UInt8(value % 10))
    }

    /// Completed years of age on `date` (a person born on 29 February has a birthday on
    /// 1 March in common years).
    public func age(on date: CivilDate) -> Int {
        var years = date.year - year
        if (date.month, date.day) < (month, day) { years -= 1 }
        return max(0, years)
    }

    /// Whether `year` is a Gregorian leap year.
    @inline(__always)
    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    @inline(__always)
    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 (negative before), Howard Hinnant's days-from-civil algorithm.
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(month > 2 ? month - 3 : month + 9)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Howard Hinnant's days-to-civil algorithm.
    static func civil(fromDaysSinceEpoch days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = z.floorDivided(by: 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        return (Int(y), Int(m), Int(d))
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
