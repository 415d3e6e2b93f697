import Foundation
import ShimingCore

/// How the review work went in a period, per reviewer and per team (a program's reviewers):
/// tasks decided, median and 90th-percentile time from task opened to decision, decisions
/// made after the due time, decisions overturned on appeal, and the shares returned and
/// rejected. Percentiles use the nearest-rank rule (p90 of n values: the ⌈0.9·n⌉-th smallest);
/// the median of an even count is the mean of the two middle values.
enum ReviewFigures {
    /// One decided task, as the figures need it.
    struct Decision: Sendable {
        var reviewer: UUID
        var program: String
        /// `approve`, `reject` or `return`.
        var outcome: String
        var openedAt: Date
        var decidedAt: Date
        var dueAt: Date
    }

    /// An upheld appeal: whose decision (or freeze) it overturned, in which program.
    struct Overturn: Sendable {
        var reviewer: UUID?
        var program: String
    }

    struct Row: Codable, Sendable, Equatable {
        /// The reviewer's id, or the program key for a team.
        var id: String
        var name: String
        var decided: Int
        var approved: Int
        var rejected: Int
        var returned: Int
        var medianSeconds: Double?
        var p90Seconds: Double?
        var overdue: Int
        var overturned: Int
        /// returned ÷ decided, rejected ÷ decided (nil when nothing was decided).
        var returnedShare: Double?
        var rejectedShare: Double?
    }

    static func median(_ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    static func percentile(_ p: Double, _ sorted: [Double]) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    static func row(id: String, name: String, _ decisions: [Decision], overturned: Int) -> Row {
        let times = decisions.map { $0.decidedAt.timeIntervalSince($0.openedAt) }.sorted()
        let count = decisions.count
        func share(_ n: Int) -> Double? { count == 0 ? nil : Double(n) / Double(count) }
        let rejected = decisions.filter { $0.outcome == "reject" }.count
        let returned = decisions.filter { $0.outcome == "return" }.count
        return Row(id: id, name: name, decided: count, approved: decisions.filter { $0.outcome == "approve" }.count,
                   rejected: rejected, returned: returned, medianSeconds: median(times), p90Seconds: percentile(0.9, times),
                   overdue: decisions.filter { $0.decidedAt > $0.dueAt }.count, overturned: overturned,
                   returnedShare: share(returned), rejectedShare: share(rejected))
    }

    /// The rows per reviewer (everyone who decided or was overturned) and per program.
    static func compute(_ decisions: [Decision], overturns: [Overturn], names: [UUID: String], programs: [String: String]) -> (reviewers: [Row], teams: [Row]) {
        let byReviewer = Dictionary(grouping: decisions, by: \.reviewer)
        let reviewerIDs = Set(byReviewer.keys).union(overturns.compactMap(\.reviewer))
        let reviewers = reviewerIDs.map { id in
            row(id: id.lowercasedText, name: names[id] ?? id.lowercasedText, byReviewer[id] ?? [],
                overturned: overturns.filter { $0.reviewer == id }.count)
        }.sorted { ($0.decided, $1.name) > ($1.decided, $0.name) }
        let byProgram = Dictionary(grouping: decisions, by: \.program)
        let teams = Set(byProgram.keys).union(overturns.map(\.program)).map { key in
            row(id: key, name: programs[key] ?? key, byProgram[key] ?? [], overturned: overturns.filter { $0.program == key }.count)
        }.sorted { $0.id < $1.id }
        return (reviewers, teams)
    }

    struct Report: Codable, Sendable {
        var from: Date
        var to: Date
        var reviewers: [Row]
        var teams: [Row]
    }

    /// The report for `[from, to)`.
    static func report(from: Date, to: Date, lang: Lang, programs catalog: ProgramCatalog, in store: Store) async throws -> Report {
        let decisions = try await store.reviewFigures.decisions(from: from, to: to)
        let overturns = try await store.reviewFigures.overturns(from: from, to: to)
        let ids = Set(decisions.map(\.reviewer)).union(overturns.compactMap(\.reviewer))
        var names: [UUID: String] = [:]
        for account in try await store.accounts.find(Array(ids)) {
            names[account.id] = account.displayName ?? account.username ?? account.id.lowercasedText
        }
        let programs = Dictionary(catalog.programs.map { ($0.key, $0.title(lang)) }, uniquingKeysWith: { a, _ in a })
        let (reviewers, teams) = compute(decisions, overturns: overturns, names: names, programs: programs)
        return Report(from: from, to: to, reviewers: reviewers, teams: teams)
    }

    /// `from`/`to` from the query: a day (`2026-11-01`, China time; `to` includes that day) or an
    /// RFC 3339 time; by default the 30 days up to and including today. At most 366 days.
    static func period(from: String?, to: String?, now: Date) throws -> (Date, Date) {
        var fields: [String: String] = [:]
        func parse(_ value: String?, _ field: String, endOfDay: Bool) -> Date? {
            guard let value, !value.isEmpty else { return nil }
            if let date = RFC3339.date(from: value) { return date }
            if let day = ChinaTime.startOfDay(value) { return endOfDay ? day.addingTimeInterval(86_400) : day }
            fields[field] = "invalid_format"
            return nil
        }
        let endOfToday = (ChinaTime.startOfDay(ChinaTime.day(now)) ?? now).addingTimeInterval(86_400)
        let end = parse(to, "to", endOfDay: true) ?? endOfToday
        let start = parse(from, "from", endOfDay: false) ?? end.addingTimeInterval(-30 * 86_400)
        if fields.isEmpty, start >= end { fields["from"] = "invalid_value" }
        if fields.isEmpty, end.timeIntervalSince(start) > 366 * 86_400 { fields["to"] = "invalid_value" }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        return (start, end)
    }
}
