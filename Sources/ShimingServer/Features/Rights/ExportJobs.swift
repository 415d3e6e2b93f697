import Foundation
import ShimingCore

/// Data exports of large accounts (documents and proofs over `exportInlineBytes`), prepared in
/// the background: requested, built by the minute sweep of one instance (a lease), sealed under
/// the account's own key in the file store, offered for download for 24 hours, then removed.
/// The person is told by message when it is ready. Smaller accounts get the ZIP at once
/// (`DataExportService.export`).
struct ExportJobService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let exports: DataExportService

    var store: Store { stores() }
    var now: Date { context.services.clock.now() }
    /// How long a ready export is offered.
    static let offeredFor: TimeInterval = 24 * 3600
    /// How long one instance keeps the right to build an export it claimed.
    static let lease: TimeInterval = 30 * 60

    static let gone = UserFacingError(
        code: "export_expired", kind: .conflict,
        message: LocalizedText("这份数据副本已过期删除，请重新申请导出。", "This copy of your data has expired and was deleted; ask for a new one."))
    static let notReady = UserFacingError(
        code: "export_not_ready", kind: .conflict,
        message: LocalizedText("这份数据副本还在准备中，准备好后会通知您。", "This copy of your data is still being prepared; you will be told when it is ready."))

    /// Whether the account's export is large enough to be prepared in the background.
    func isLarge(_ account: Account) async throws -> Bool {
        try await store.fileBytes(of: account.id) > context.configuration.exportInlineBytes
    }

    /// Asks for an export: the one being prepared or still offered, or a new one (audited).
    func request(_ account: Account, lang: Lang, ip: String?) async throws -> ExportJob {
        let now = self.now
        if let open = try await store.exports.list(account: account.id).first(where: { $0.state == .preparing || ($0.state == .ready && ($0.expiresAt ?? now) > now) }) {
            return open
        }
        let job = ExportJob(id: UUID(), accountID: account.id, state: .preparing, lang: lang, requestedAt: now)
        try await store.transaction { tx in
            try await tx.exports.insert(job)
            try await tx.audit("account.export_requested", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                               details: ["export": job.id.lowercasedText], at: now)
        }
        return job
    }

    /// The account's exports, newest first, those past their time shown as expired.
    func list(_ account: Account) async throws -> [ExportJob] {
        let now = self.now
        return try await store.exports.list(account: account.id).map { job in
            var job = job
            if job.state == .ready, let expires = job.expiresAt, expires <= now { job.state = .expired }
            return job
        }
    }

    /// The plaintext ZIP of one of the account's ready exports, read piece by piece.
    func download(_ id: UUID, account: Account) async throws -> (ExportJob, AsyncThrowingStream<[UInt8], any Error>) {
        guard let job = try await list(account).first(where: { $0.id == id }) else { throw CommonErrors.notFound }
        switch job.state {
        case .ready: return (job, try await context.files.stream(id: job.id, owner: account.id))
        case .preparing: throw Self.notReady
        case .failed, .expired: throw Self.gone
        }
    }

    /// Builds the exports waiting (the minute sweep); answers how many became ready.
    /// (Claiming, expiring and failing are writes, each through the write gate like every other.)
    func buildDue() async throws -> Int {
        var built = 0
        let now = now
        for job in try await store.transaction({ tx in try await tx.exports.claim(at: now, lease: Self.lease, limit: 2) }) where try await build(job) {
            built += 1
        }
        return built
    }

    /// Removes the files of exports past their 24 hours.
    func expireDue() async throws -> Int {
        let now = now
        let expired = try await store.transaction { tx in try await tx.exports.expire(at: now, limit: 100) }
        for id in expired { try? await context.files.remove(id) }
        return expired.count
    }

    private func build(_ job: ExportJob) async throws -> Bool {
        guard let account = try await store.accounts.find(job.accountID), account.status != .closed else {
            try await store.transaction { tx in try await tx.exports.markFailed(job.id) }
            return false
        }
        let plain = try exports.workFile(job.id)
        defer { try? FileManager.default.removeItem(at: plain) }
        let size: Int
        do {
            try await exports.export(account: account, to: plain, lang: job.lang, ip: nil)
            // Sealed under the person's key while it is copied in, a megabyte at a time.
            let writer = try await context.files.writer(id: job.id, owner: account.id)
            do {
                let handle = try FileHandle(forReadingFrom: plain)
                defer { try? handle.close() }
                while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty { try await writer.append([UInt8](piece)) }
                try await writer.finish()
                size = writer.size
            } catch {
                await writer.discard()
                throw error
            }
        } catch {
            try await store.transaction { tx in try await tx.exports.markFailed(job.id) }
            throw error
        }
        let now = self.now
        let ready = try await store.transaction { tx in
            guard try await tx.exports.markReady(job.id, size: size, at: now, expires: now + Self.offeredFor) else { return false }
            let text = LocalizedText("您申请的个人信息副本已准备好，请在 24 小时内登录后到「我的账号 → 下载我的全部数据」下载。",
                                     "The copy of your data you asked for is ready: sign in and download it under My account → Download all my data within 24 hours.")
            if let message = OutgoingMessage.notice(to: account, template: "export_ready", subject: LocalizedText("数据副本已准备好", "Your data copy is ready")(account.locale),
                                                    text: MessageTemplates.brand(account.locale) + text(account.locale)) {
                try await tx.enqueue(message, at: now)
            }
            return true
        }
        if !ready { try? await context.files.remove(job.id) }
        return ready
    }
}
