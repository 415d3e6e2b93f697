import Foundation
import IdentityRules
import ShimingCore

/// The once-a-minute sweep: confirmations that ran out, reminders, expiries.
extension CaseService {
    // MARK: Sweep

    /// What one sweep changed. The sweep is run by the background worker; tests call it with a set clock.
    struct SweepResult: Sendable, Equatable {
        var locked = 0, reminded = 0, expired = 0
        var total: Int { locked + reminded + expired }
    }

    /// The timed changes: accounts whose second confirmation ran out are locked, holders of a
    /// verification that runs out within the program's reminder days are told once, and
    /// verifications past their date expire (the holder is told). A case another instance
    /// changed meanwhile is skipped; the next sweep sees it again.
    func sweep() async throws -> SweepResult {
        let now = self.now
        let store = store
        var result = SweepResult()
        let overdue = try await store.cases.confirmationsOverdue(at: now, limit: 500)
        result.locked = try await forEach(overdue) { [self] record, account, _, tx in
            try await lockForConfirmation(&record, account: account, why: "confirmation_timeout", at: now, in: tx)
        }
        // The longest reminder a program may ask for is 90 days; each case is held to its own program's.
        let soon = try await store.cases.unremindedExpiring(from: now, until: now.addingTimeInterval(90 * 86_400), limit: 500)
            .filter { record in
                guard let program = context.programs[record.program], let expiresAt = record.expiresAt else { return false }
                return expiresAt < now.addingTimeInterval(Double(program.reverificationReminderDays) * 86_400)
            }
        result.reminded = try await forEach(soon) { [self] record, account, program, tx in
            record.remindedAt = now
            try await tx.cases.save(&record, at: now)
            try await tx.audit("case.renewal_reminded", actor: .system, subject: Self.subject(record.id), ip: nil,
                               details: ["expiresAt": ChinaTime.day(record.expiresAt ?? now)], at: now)
            if let program {
                try await notify(account, template: "case_renewal_due",
                                 text: Notices.renewalDue(program: program, on: record.expiresAt ?? now, lang: account.locale), in: tx)
            }
        }
        let due = try await store.cases.verificationsExpired(at: now, limit: 500)
        result.expired = try await forEach(due) { [self] record, account, program, tx in
            try await tx.cases.apply(.expire, to: &record, actor: .system, rule: "program.reverification", at: now)
            try await tx.audit("case.expired", actor: .system, subject: Self.subject(record.id), at: now)
            try await PlatformEvents.verificationChanged(account: account.id, change: "expired", at: now, in: tx)
            if let program {
                try await notify(account, template: "case_expired", text: Notices.expired(program: program, lang: account.locale), in: tx)
            }
        }
        return result
    }

    /// Runs `change` for each candidate in its own transaction, on the case re-read at the
    /// version the candidate had; returns how many were changed.
    private func forEach(_ candidates: [StoredCase],
                         _ change: @escaping @Sendable (inout StoredCase, Account, Program?, Store) async throws -> Void) async throws -> Int {
        var changed = 0
        let store = store
        for candidate in candidates {
            guard let account = try await store.accounts.find(candidate.accountID) else { continue }
            let program = context.programs[candidate.program]
            do {
                try await store.transaction { tx in
                    var record = try await tx.cases.locked(candidate.id, version: candidate.version)
                    try await change(&record, account, program, tx)
                }
                changed += 1
            } catch let error where CaseErrors.isChanged(error) {
                continue
            }
        }
        return changed
    }
}
