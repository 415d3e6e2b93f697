import Foundation
import IdentityRules

/// Times and days as people in China read them (UTC+8, no daylight saving): in messages, on
/// pages and in the `from`/`to` of reports.
public enum ChinaTime {
    /// The Gregorian calendar in Asia/Shanghai.
    public static var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Shanghai") ?? TimeZone(secondsFromGMT: 8 * 3600)!
        return calendar
    }

    /// The day in Beijing at `date` (UTC+8 by default, `CivilDate(unixSeconds:)`): what a
    /// person's age and the days queries are counted on are reckoned by.
    public static func civilDay(_ date: Date) -> CivilDate {
        CivilDate(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
    }

    /// `2026-11-21 16:15 (UTC+8)`.
    public static func minute(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970) + 8 * 3600
        let day = civilDay(date)
        let minuteOfDay = Int((seconds % 86_400 + 86_400) % 86_400) / 60
        let hh = minuteOfDay / 60, mm = minuteOfDay % 60
        return "\(day) \(hh < 10 ? "0" : "")\(hh):\(mm < 10 ? "0" : "")\(mm) (UTC+8)"
    }

    /// `2026-11-21`: the day in Beijing, by arithmetic (UTC+8, without daylight saving since
    /// 1991), as `minute` does; a calendar and a format cost more than the rest of a platform
    /// query's counting.
    public static func day(_ date: Date) -> String {
        civilDay(date).description
    }

    /// The start of a day given as `yyyy-MM-dd`; nil when it is no such day.
    public static func startOfDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        let components = DateComponents(year: year, month: month, day: day)
        guard components.isValidDate(in: calendar) else { return nil }
        return calendar.date(from: components)
    }
}
