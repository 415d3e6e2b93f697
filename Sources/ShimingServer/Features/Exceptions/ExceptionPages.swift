import Foundation
import Plot
import ShimingCore

/// The pages for risk alerts, feedback (staff and applicant side) and the reviewer figures.
enum ExceptionPages {
    typealias Body = Node<HTML.BodyContext>

    static func percent(_ share: Double?) -> String { share.map { String(format: "%.0f%%", $0 * 100) } ?? "—" }
    static func minutes(_ seconds: Double?) -> String { seconds.map { String(format: "%.1f", $0 / 60) } ?? "—" }

    // MARK: Alerts

    static func alerts(_ alerts: [RiskAlertView], state: String, lang: Lang, csrf: String, canHandle: Bool, notice: String?) -> HTML {
        var main: [Body] = []
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        main.append(Forms.element("nav", [("class", "tabs")], [("active", LocalizedText("待处理", "Active")), ("resolved", ReviewText.alertStates["resolved"]!),
                                                               ("all", LocalizedText("全部", "All"))].map { key, label in
            var attributes = [("href", "/staff/alerts?state=\(key)")]
            if key == state { attributes.append(("aria-current", "page")) }
            return Forms.element("a", attributes, [.text(label(lang))])
        }))
        if alerts.isEmpty { main.append(.p(.text(StaffText.none(lang)))) }
        for alert in alerts {
            let id = alert.id.lowercasedText
            var about = alert.subject
            if alert.subject.hasPrefix("case:") { about = String(alert.subject.dropFirst(5)) }
            var children: [Body] = [
                .h2(.text("\(ReviewText.alertKinds[alert.kind]?(lang) ?? alert.kind) · \(ReviewText.alertStates[alert.state]?(lang) ?? alert.state)")),
                .p(.text("\(ReviewText.about(lang))：\(about) · \(ReviewText.times(lang))：\(alert.count) · \(ReviewText.lastSeen(lang))：\(StaffPages.time(alert.lastSeenAt))")),
            ]
            if alert.subject.hasPrefix("case:") {
                children.append(.p(ReviewPages.link("/staff/review/cases/\(about)", ReviewText.openCase(lang))))
            }
            if !alert.details.isEmpty {
                children.append(.p(.class("hint"), .text(alert.details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " · "))))
            }
            if let note = alert.note { children.append(Forms.element("blockquote", [], [.text(note)])) }
            if let resolution = alert.resolution { children.append(.p(.text("\(ReviewText.resolution(lang))：\(resolution)"))) }
            if canHandle, alert.state == RiskAlertState.open.rawValue {
                children.append(Forms.form(action: "/staff/alerts/\(id)/acknowledge", csrf: csrf, [Forms.submit(ReviewText.acknowledge, lang: lang, primary: false)]))
            }
            if canHandle, alert.state != RiskAlertState.resolved.rawValue {
                children.append(Forms.form(action: "/staff/alerts/\(id)/resolve", csrf: csrf, [
                    ReviewPages.textarea("note-\(id)", ReviewText.resolution, value: "", error: nil, lang: lang),
                    Forms.submit(ReviewText.resolve, lang: lang),
                ]))
            }
            main.append(Forms.element("section", [("class", "card"), ("data-alert", id), ("data-kind", alert.kind)], children))
        }
        return StaffPages.frame(ReviewText.alerts, lang: lang, path: "/staff/alerts", main)
    }

    // MARK: Feedback

    static func staffFeedback(_ items: [FeedbackView], lang: Lang, csrf: String, notice: String?) -> HTML {
        var main: [Body] = []
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        if items.isEmpty { main.append(.p(.text(StaffText.none(lang)))) }
        for item in items {
            let id = item.id.lowercasedText
            var children: [Body] = [
                .p(.strong(.text(ReviewText.feedbackStates[item.state]?(lang) ?? item.state)),
                   .text(" · \(StaffPages.time(item.createdAt))\(item.page.map { " · \($0)" } ?? "")")),
                Forms.element("blockquote", [], [.text(item.text)]),
            ]
            if let caseID = item.caseId {
                children.append(.p(ReviewPages.link("/staff/review/cases/\(caseID.lowercasedText)", ReviewText.openCase(lang))))
            }
            children.append(Forms.form(action: "/staff/feedback/\(id)", csrf: csrf, [
                Forms.field(.init(name: "tags", label: ReviewText.tags, value: item.tags.joined(separator: ", ")), error: nil, lang: lang),
                Forms.submit(ReviewText.markRead, lang: lang, primary: false),
            ]))
            if let answer = item.answer {
                children.append(.p(.text("\(ReviewText.answer(lang))：\(answer)")))
            } else {
                children.append(Forms.form(action: "/staff/feedback/\(id)/answer", csrf: csrf, [
                    ReviewPages.textarea("answer-\(id)", ReviewText.answer, value: "", error: nil, lang: lang),
                    Forms.submit(ReviewText.sendAnswer, lang: lang),
                ]))
            }
            main.append(Forms.element("section", [("class", "card"), ("data-feedback", id)], children))
        }
        return StaffPages.frame(ReviewText.feedback, lang: lang, path: "/staff/feedback", main)
    }

    static let feedbackLead = LocalizedText("遇到问题或有建议，请告诉我们。工作人员会阅读并回复，回复会通过短信或邮件发给您。",
                                            "Tell us about a problem or an idea. Staff read every message and answer by SMS or e-mail.")
    static let feedbackText = LocalizedText("您的意见", "Your message")
    static let send = LocalizedText("发送", "Send")
    static let sent = LocalizedText("已收到您的反馈，谢谢！", "Thank you, we have your message.")
    static let yours = LocalizedText("我的反馈", "My messages")

    static func feedback(_ items: [FeedbackView], lang: Lang, csrf: String, page: String?, caseID: String?,
                         error: String?, value: String, notice: String?, staff: Bool) -> HTML {
        var form: [Body] = [ReviewPages.textarea("text", feedbackText, value: value, error: error, lang: lang)]
        if let page { form.append(Forms.void("input", [("type", "hidden"), ("name", "page"), ("value", page)])) }
        if let caseID { form.append(Forms.void("input", [("type", "hidden"), ("name", "caseId"), ("value", caseID)])) }
        form.append(Forms.submit(send, lang: lang))
        var main: [Body] = [.h1(.text(ReviewText.feedback(lang))), .p(.class("lead"), .text(feedbackLead(lang)))]
        if let notice { main.append(Forms.notice(notice, kind: "ok")) }
        main.append(Forms.form(action: "/feedback", csrf: csrf, form))
        if !items.isEmpty {
            main.append(.h2(.text(yours(lang))))
            main.append(Forms.element("ul", [("class", "plain"), ("id", "my-feedback")], items.map { item in
                Forms.element("li", [("class", "card")], [
                    .p(.text("\(StaffPages.time(item.createdAt)) · \(item.text)")),
                    .if(item.answer != nil, .p(.strong(.text("\(ReviewText.answer(lang))：\(item.answer ?? "")")))),
                ])
            }))
        }
        return Layout.page(title: ReviewText.feedback, lang: lang, path: "/feedback", signedIn: true, staff: staff, main: .group(main))
    }

    // MARK: Figures

    /// A horizontal bar chart as inline SVG: one row per label, one or two bars per row.
    static func barChart(title: String, rows: [(label: String, values: [Double])], unit: String) -> String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
                .replacingOccurrences(of: "\"", with: "&quot;")
        }
        let maximum = max(rows.flatMap(\.values).max() ?? 0, 1)
        let bars = rows.first?.values.count ?? 1
        let rowHeight = 14 * bars + 14, labelWidth = 150, width = 640, barArea = Double(width - labelWidth - 70)
        let height = rows.count * rowHeight + 30
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" width=\"100%\" class=\"chart\"><title>\(escape(title))</title>"
        let colours = ["#1f5fa8", "#d9822b"]
        for (index, row) in rows.enumerated() {
            let y = 20 + index * rowHeight
            svg += "<text x=\"0\" y=\"\(y + 12)\" font-size=\"13\">\(escape(String(row.label.prefix(18))))</text>"
            for (bar, value) in row.values.enumerated() {
                let length = max(1, Int((value / maximum * barArea).rounded()))
                let barY = y + bar * 14
                svg += "<rect x=\"\(labelWidth)\" y=\"\(barY)\" width=\"\(length)\" height=\"12\" fill=\"\(colours[bar % 2])\"></rect>"
                svg += "<text x=\"\(labelWidth + length + 4)\" y=\"\(barY + 11)\" font-size=\"12\">\(escape(String(format: "%.1f", value)))\(escape(unit))</text>"
            }
        }
        return svg + "</svg>"
    }

    static func figureTable(_ rows: [ReviewFigures.Row], first: LocalizedText, lang: Lang) -> Body {
        StaffPages.table(
            [first(lang), ReviewText.decidedCount(lang), ReviewText.median(lang) + "（min）", ReviewText.p90(lang) + "（min）", ReviewText.overdueCount(lang),
             ReviewText.overturned(lang), ReviewText.returnedShare(lang), ReviewText.rejectedShare(lang)],
            rows.map { row in [
                .text(row.name), .text("\(row.decided)"), .text(minutes(row.medianSeconds)), .text(minutes(row.p90Seconds)),
                .text("\(row.overdue)"), .text("\(row.overturned)"), .text(percent(row.returnedShare)), .text(percent(row.rejectedShare)),
            ] }
        )
    }

    static func figures(_ report: ReviewFigures.Report, from: String, to: String, lang: Lang, error: String?) -> HTML {
        var main: [Body] = [
            Forms.element("form", [("method", "get"), ("action", "/staff/figures"), ("class", "inline")], [
                Forms.field(.init(name: "from", label: ReviewText.from, type: "date", value: from), error: nil, lang: lang),
                Forms.field(.init(name: "to", label: ReviewText.to, type: "date", value: to), error: nil, lang: lang),
                Forms.submit(ReviewText.show, lang: lang),
            ]),
        ]
        if let error { main.append(Forms.notice(error, kind: "error")) }
        main.append(.h2(.text(ReviewText.reviewer(lang))))
        main.append(report.reviewers.isEmpty ? .p(.text(StaffText.none(lang))) : figureTable(report.reviewers, first: ReviewText.reviewer, lang: lang))
        if !report.reviewers.isEmpty {
            main.append(Forms.element("figure", [("id", "chart-decided")], [
                .raw(barChart(title: ReviewText.chartDecided(lang), rows: report.reviewers.map { ($0.name, [Double($0.decided)]) }, unit: "")),
                Forms.element("figcaption", [], [.text(ReviewText.chartDecided(lang))]),
            ]))
            main.append(Forms.element("figure", [("id", "chart-times")], [
                .raw(barChart(title: ReviewText.chartTimes(lang),
                              rows: report.reviewers.map { ($0.name, [($0.medianSeconds ?? 0) / 60, ($0.p90Seconds ?? 0) / 60]) }, unit: " min")),
                Forms.element("figcaption", [], [.text(ReviewText.chartTimes(lang))]),
            ]))
        }
        main.append(.h2(.text(ReviewText.team(lang))))
        main.append(report.teams.isEmpty ? .p(.text(StaffText.none(lang))) : figureTable(report.teams, first: ReviewText.team, lang: lang))
        return StaffPages.frame(ReviewText.figures, lang: lang, path: "/staff/figures", main)
    }
}
