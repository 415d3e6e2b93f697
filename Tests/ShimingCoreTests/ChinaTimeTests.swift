import Foundation
import Testing
@testable import ShimingCore

@Suite("China time")
struct ChinaTimeTests {
    @Test("the day changes at midnight in Beijing (16:00 UTC) and agrees with the Asia/Shanghai calendar", arguments: [
        (1_795_276_799.999, "2026-11-21"),  // 2026-11-21T15:59:59.999Z
        (1_795_276_800.0, "2026-11-22"),    // 2026-11-21T16:00:00Z
        (1_709_222_400.0, "2024-03-01"),    // 2024-02-29T16:00:00Z, after a leap day
        (694_224_000.0, "1992-01-01"),      // 1991-12-31T16:00:00Z
    ])
    func day(seconds: Double, expected: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(ChinaTime.day(date) == expected)
        let parts = ChinaTime.calendar.dateComponents([.year, .month, .day], from: date)
        #expect(String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0) == expected)
    }
}
