import Foundation
import Plot
import ShimingCore
import Vapor

/// "Who looked at my data" on My account: each time staff (by role) or a platform looked, what
/// they saw and, for a value shown in full, why.
enum RightsPages {
    static let accessTitle = LocalizedText("谁查看过我的信息", "Who looked at my data")
    static let accessLead = LocalizedText(
        "工作人员每次查看您的申请、材料或完整信息，平台每次查询您的核验结果，都会记录在这里。这份记录来自不可篡改的审计日志。",
        "Every time staff open your application, a document or a value in full, and every time a platform asks about your verification, it is listed here. The list is read from the tamper-evident audit log.")
    static let none = LocalizedText("还没有人查看过您的信息。", "Nobody has looked at your data yet.")
    static let older = LocalizedText("更早的记录", "Older entries")
    static let purpose = LocalizedText("用途", "Purpose")
    static let you = LocalizedText("您本人", "You")
    static let staff = LocalizedText("工作人员", "Staff")
    static let exportTitle = LocalizedText("下载我的全部数据（ZIP）", "Download all my data (ZIP)")
    static let exportLead = LocalizedText(
        "您上传的材料较多，我们在后台为您准备数据副本，通常几分钟即可。准备好后会通过短信或邮件通知您，请在 24 小时内下载，之后副本会被删除。",
        "You have uploaded many files, so your copy is prepared in the background, usually within minutes. You will get a message when it is ready; download it within 24 hours, after which it is deleted.")
    static let refresh = LocalizedText("刷新", "Refresh")
    static let download = LocalizedText("下载", "Download")

    static func viewer(_ viewer: AccessLogService.Viewer, _ lang: Lang) -> String {
        switch viewer {
        case .staff(let role): role.flatMap { StaffText.roleNames[$0]?(lang) } ?? staff(lang)
        case .platform(let name): lang == .zhCN ? "平台「\(name)」" : "Platform “\(name)”"
        case .themselves: you(lang)
        }
    }

    static func what(_ entry: AccessLogService.Entry, _ lang: Lang) -> String {
        switch entry.kind {
        case .caseViewed: LocalizedText("查看了您的实名申请（隐去部分信息）", "opened your application (partly masked)")(lang)
        case .documentViewed: LocalizedText("查看了您上传的证件材料", "looked at a document you uploaded")(lang)
        case .revealed:
            LocalizedText("查看了完整的「\(entry.field.map { CheckReasons.fieldLabel($0)(.zhCN) } ?? "—")」",
                          "saw “\(entry.field.map { CheckReasons.fieldLabel($0)(.en) } ?? "—")” in full")(lang)
        case .accountViewed: LocalizedText("查看了您的账户（隐去部分信息）", "opened your account (partly masked)")(lang)
        case .changeRequestViewed: LocalizedText("查看了您的更正申请", "opened your change request")(lang)
        case .proofViewed: LocalizedText("查看了您更正申请的证明材料", "looked at a proof of your change request")(lang)
        case .platformQuery: LocalizedText("查询了您的核验结果（只含您同意的内容）", "asked about your verification (only what you agreed to)")(lang)
        case .exported: LocalizedText("导出了您的全部数据", "exported all your data")(lang)
        }
    }

    static func exportState(_ job: ExportJob, _ lang: Lang) -> String {
        switch job.state {
        case .preparing: LocalizedText("正在准备", "Being prepared")(lang)
        case .ready:
            LocalizedText("已准备好（\(ByteCountFormatter.string(fromByteCount: Int64(job.size ?? 0), countStyle: .file))），\(StaffPages.time(job.expiresAt ?? job.requestedAt)) 前可下载",
                          "Ready (\(ByteCountFormatter.string(fromByteCount: Int64(job.size ?? 0), countStyle: .file))), until \(StaffPages.time(job.expiresAt ?? job.requestedAt))")(lang)
        case .failed: LocalizedText("未能准备好，请再申请一次", "Could not be prepared; please ask again")(lang)
        case .expired: LocalizedText("已过期删除", "Expired and deleted")(lang)
        }
    }

    /// `/account/export` for a large account: the copies asked for, their state, and the link.
    static func exports(_ jobs: [ExportJob], lang: Lang) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(exportTitle(lang))), .p(.class("lead"), .text(exportLead(lang)))]
        main.append(Forms.element("ul", [("class", "exports")], jobs.map { job in
            var lines: [Node<HTML.BodyContext>] = [
                Forms.element("time", [("datetime", ISO8601DateFormatter().string(from: job.requestedAt))], [.text(StaffPages.time(job.requestedAt))]),
                .text(" "), Forms.element("strong", [], [.text(exportState(job, lang))]),
            ]
            if job.state == .ready {
                lines += [.text(" "), Forms.element("a", [("href", "/account/exports/\(job.id.lowercasedText)/download"), ("class", "button"),
                                                          ("id", "download-export")], [.text(download(lang))])]
            }
            return Forms.element("li", [("class", "card"), ("data-state", job.state.rawValue)], lines)
        }))
        if jobs.contains(where: { $0.state == .preparing }) { main.append(.p(.a(.href("/account/export"), .text(refresh(lang))))) }
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: exportTitle, lang: lang, path: "/account/export", signedIn: true, main: .group(main))
    }

    static func accessLog(_ entries: [AccessLogService.Entry], more: Int64?, lang: Lang) -> HTML {
        var main: [Node<HTML.BodyContext>] = [.h1(.text(accessTitle(lang))), .p(.class("lead"), .text(accessLead(lang)))]
        if entries.isEmpty { main.append(.p(.text(none(lang)))) }
        if !entries.isEmpty {
            main.append(Forms.element("ul", [("class", "access-log")], entries.map { entry in
                var lines: [Node<HTML.BodyContext>] = [
                    Forms.element("time", [("datetime", ISO8601DateFormatter().string(from: entry.at))], [.text(StaffPages.time(entry.at))]),
                    .text(" "),
                    Forms.element("strong", [], [.text(viewer(entry.viewer, lang))]),
                    .text(" " + what(entry, lang)),
                ]
                if let purpose = entry.purpose {
                    lines.append(Forms.element("span", [("class", "purpose")], [.text("（\(Self.purpose(lang))：\(purpose)）")]))
                }
                return Forms.element("li", [("class", "card"), ("data-kind", entry.kind.rawValue)], lines)
            }))
        }
        if let more { main.append(.p(.a(.href("/account/access-log?before=\(more)"), .text(older(lang))))) }
        main.append(.p(.a(.href("/account"), .text(AccountText.accountTitle(lang)))))
        return Layout.page(title: accessTitle, lang: lang, path: "/account/access-log", signedIn: true, main: .group(main))
    }
}

/// `/account/access-log`: the page above, on `AccessLogService`.
struct WebRightsController {
    let features: Features
    static let pageSize = 50

    func register(_ routes: any RoutesBuilder) {
        routes.page(.GET, "account", "access-log", access: .holder, use: accessLog)
        routes.page(.GET, "account", "export", access: .holder, use: export)
        routes.page(.GET, "account", "exports", ":id", "download", access: .holder, use: downloadExport)
    }

    /// The ZIP at once, or for a large account the copies being prepared in the background.
    @Sendable func export(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        guard try await features.exportJobs.isLarge(account) else {
            return try await RightsController.exportResponse(req, account: account, exports: features.exports)
        }
        _ = try await features.exportJobs.request(account, lang: req.lang, ip: req.clientIP)
        return WebController.html(RightsPages.exports(try await features.exportJobs.list(account), lang: req.lang).render())
    }

    @Sendable func downloadExport(_ req: Request) async throws -> Response {
        try await RightsController.downloadResponse(req, id: try req.uuidParameter(), account: try req.caller.account, jobs: features.exportJobs)
    }

    @Sendable func accessLog(_ req: Request) async throws -> Response {
        let account = try req.caller.account
        let entries = try await features.accessLog.entries(for: account, before: req.query[Int64.self, at: "before"], limit: Self.pageSize)
        let more = entries.count == Self.pageSize ? entries.last?.seq : nil
        return WebController.html(RightsPages.accessLog(entries, more: more, lang: req.lang).render())
    }
}
