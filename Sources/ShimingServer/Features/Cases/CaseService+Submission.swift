import Foundation
import IdentityRules
import ShimingCore

/// Submitting: what is missing is refused, the application limit, the automatic checks and their decision.
extension CaseService {
    // MARK: Submit and the automatic checks

    /// Submits the case: the automatic checks run and decide (approved → confirmation or
    /// verified; returned with every reason; or needs review). Too many submissions within the
    /// program's window → 429 with the time it may be tried again, and nothing changes.
    func submit(_ id: UUID, account: Account, ip: String?) async throws -> Case {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        do { _ = try CaseMachine.next(current.state, on: .submit) } catch { throw Self.transitionError(error) }
        let program = try program(current.program)
        let evaluator = CaseEvaluator(program: program, today: today)
        // What is missing is said now and costs no submission.
        let missing = evaluator.missing(current.application, documents: current.uploadedDocuments)
        if !missing.isEmpty { throw Self.incomplete(missing) }
        let isNew = current.state == .draft
        let store = store
        do {
            _ = try await checkFrequency(account: account, program: program, isNew: isNew, in: store)
        } catch let refusal as UserFacingError {
            try await RiskAlertService.raiseAlone(.rateLimited, subject: AccountService.subject(account.id), program: program.key,
                                                  details: ["limit": "application_limit"], at: now, in: store)
            throw refusal
        }

        let local = localChecks(current, account: account, evaluator: evaluator)
        var registry: RegistryAnswer?
        // Look-ups are counted per number, account and address, so the registry is no oracle for
        // testing name ↔ number pairs. A remote service's are counted first, outside the
        // transaction (it may take seconds); a local answer's in the transaction below, which
        // drops the answer unread when an allowance is used up.
        var countedInTransaction: String?
        // The number's blind index (while a re-index runs, both keys'), once: the look-ups count
        // it, and the footprint below names it.
        let number = evaluator.identityNumber(current.application)
        let numberIndexes = number.map { numberIndex($0.number) }
        if !CaseEvaluator.needsFixing(local), program.checks.contains(.registry), let number, let index = numberIndexes?.stored {
            if !CaseRegistries.isRemote(program) {
                registry = await registries.answer(program: program, application: current.application, number: number.number)
                countedInTransaction = index
            } else if try await registries.mayLookUp(number: index, account: account.id, ip: ip, program: program, in: store) {
                registry = await registries.answer(program: program, application: current.application, number: number.number)
            } else {
                registry = RegistryAnswer(verdict: .limited)
                try await RiskAlertService.raiseAlone(.rateLimited, subject: Self.subject(id), program: program.key,
                                                      details: ["limit": "registry_lookups"], at: now, in: store)
            }
        }
        let now = self.now
        let hasRegistry = program.checks.contains(.registry)
        // Whether the checks will verify the case if nothing the transaction reads says otherwise
        // (no duplicate, the look-up allowed): then it reads what the verification reads at once.
        let mayVerify = program.confirmation == nil && !(hasRegistry && registry == nil)
            && evaluator.decide(local: local, duplicate: false, registry: hasRegistry ? registry : nil).decision.outcome == .approved
        // What its first statement reads and its queued writes change (`WriteGate.transaction`):
        // the case, the account's cases, verified identity and grants, the cases holding its number.
        var footprint: Set<String> = ["case:\(id.lowercasedText)", "account:\(account.id.lowercasedText)"]
        if let stored = current.numberIndex { footprint.insert("number:\(stored)") }
        footprint.formUnion((numberIndexes?.accepted ?? []).map { "number:\($0)" })
        // Repeatable: everything it changes, it changes in the transaction.
        let written = try await store.transaction(repeatable: true, footprint: footprint) { [self, registry, countedInTransaction] tx in
            var registry = registry
            // The case, the application limit and the duplicate check, read in one statement
            // that also takes the local look-up from its allowances and, when the checks may
            // verify the case, reads what the verification reads.
            let allowances = countedInTransaction.map { registries.lookUpAllowances(number: $0, account: account.id, ip: ip, program: program) } ?? []
            let (reads, verificationReads) = try await tx.submissionReads(id, version: current.version, account: account.id, program: program.key,
                                                                          since: frequencyWindow(program)?.since, taking: (allowances, now),
                                                                          verifying: mayVerify)
            if reads.untaken != nil {
                registry = RegistryAnswer(verdict: .limited)
                try await RiskAlertService.raise(.rateLimited, subject: Self.subject(id), program: program.key,
                                                 details: ["limit": "registry_lookups"], at: now, in: tx)
            }
            var (record, seq) = (reads.record, reads.nextSeq)
            let used = try frequency(recent: reads.recentCount, oldest: reads.oldestRecent, program: program, isNew: isNew)
            var duplicate: Bool?
            if let index = try numberProbe(of: record) {
                // While a re-index runs the probe accepts the previous key's index too: asked apart.
                duplicate = index.accepted == [index.stored] && index.stored == record.numberIndex
                    ? reads.storedNumberHeldByOthers : try await tx.cases.numberHeldByOthers(index, account: account.id)
            }
            var (checks, decision) = evaluator.decide(local: local, duplicate: duplicate, registry: hasRegistry ? registry : nil)
            if let used, let index = checks.firstIndex(where: { $0.check == "frequency" }) {
                // "used/limit/days"; a resubmission ("r…") is not one of them.
                checks[index].detail = "\(isNew ? "" : "r")\(used)/\(program.applicationLimit.count)/\(program.applicationLimit.days)"
            }
            if hasRegistry, registry == nil, decision.outcome != .returned {
                // The number could not be looked up: a person decides.
                checks.append(.review("registry", "registry_unavailable"))
                decision = AutomaticDecision(outcome: .needsReview, rule: "checks.review", reasons: decision.reasons + ["registry_unavailable"])
            }
            if duplicate == true {
                try await RiskAlertService.raise(.duplicateIdentity, subject: Self.subject(id), program: program.key,
                                                 details: ["check": "duplicate"], at: now, in: tx)
            }
            if let failed = checks.first(where: { $0.check == "registry" && !$0.passed && !["registry_unavailable", "registry_limited"].contains($0.code) }) {
                try await RiskAlertService.raise(.failedVerification, subject: Self.subject(id), program: program.key,
                                                 details: ["check": "registry", "code": failed.code], at: now, in: tx)
            }
            let actor = AuditActor.account(account.id)
            // The applicant submits; the machine checks and decides.
            let effects = try await tx.cases.moves([(.submit, actor, nil), (.startChecks, .system, nil), (.checked(decision.outcome), .system, decision.rule)],
                                                   &record, at: now, seq: &seq)
            record.checks = checks
            record.decision = CaseDecision(outcome: decision.outcome.rawValue, rule: decision.rule, reasons: decision.reasons,
                                           decidedBy: "system", decidedAt: now)
            record.submittedAt = now
            try await tx.audit("case.submitted", actor: actor, subject: Self.subject(id), ip: ip, details: ["program": program.key], at: now)
            try await tx.audit("case.checked", actor: .system, subject: Self.subject(id), ip: nil,
                               details: ["outcome": decision.outcome.rawValue, "rule": decision.rule,
                                         "reasons": decision.reasons.joined(separator: ",")], at: now)
            // The resubmitted case's open task ends; one entering review gets its task.
            try await perform(effects, on: &record, .init(application: current.application, applicant: account, program: program, reason: decision.rule),
                              at: now, in: tx)
            switch decision.outcome {
            case .approved:
                // The application is the one read before (the case's version has not changed).
                try await completeApproval(&record, program: program, account: account, actor: .system, application: current.application,
                                           reads: verificationReads, at: now, seq: &seq, in: tx)
            case .returned:
                try await notify(account, template: "case_returned", text: Notices.returned(program: program, lang: account.locale), in: tx)
            case .needsReview:
                break
            }
            // The read locked the case's row at this version.
            try await tx.cases.saveLocked(&record, at: now)
            return record
        }
        // What was written is what a read would answer: the application and documents are the
        // ones read at the version the submission started from, the history gains its moves.
        return try assemble(written, application: current.application, documents: current.documents, history: current.history + written.moved)
    }

    /// The checks that need no I/O (also shown before submitting, on the last step of the form).
    func localChecks(_ item: Case, account: Account, evaluator: CaseEvaluator) -> [CheckResult] {
        let consent = item.guardianConsentAt != nil || Self.registrationConsent(account: account, application: item.application)
        return evaluator.localChecks(item.application, documents: item.uploadedDocuments, guardianConsent: consent)
    }

    /// P4: a student registered with the guardian's phone, and the registration code sent
    /// there carried the consent text; entering it was the guardian's consent.
    static func registrationConsent(account: Account, application: CaseApplication) -> Bool {
        guard account.guardianPhoneConfirmed, let registered = account.guardianPhone,
              let given = application.guardian?.phone, let phone = try? MobileNumber.validate(given) else { return false }
        return phone == registered
    }

    /// Refuses with 429 when the account has used up the program's new applications for the
    /// window; otherwise the number of new applications the window holds with this one. Only a
    /// draft's first submission counts: sending back what a reviewer or the checks returned,
    /// or a pending case edited, is the same application.
    func checkFrequency(account: Account, program: Program, isNew: Bool, in store: Store) async throws -> Int? {
        guard let window = frequencyWindow(program) else { return nil }
        let recent = try await store.cases.firstSubmissions(account: account.id, program: program.key, since: window.since)
        return try frequency(recent: recent.count, oldest: recent.first, program: program, isNew: isNew)
    }

    /// The program's application limit window (nil: the program has none): its length and where it starts now.
    func frequencyWindow(_ program: Program) -> (seconds: TimeInterval, since: Date)? {
        guard program.checks.contains(.frequency) else { return nil }
        let seconds = TimeInterval(program.applicationLimit.days) * 24 * 3600
        return (seconds, now.addingTimeInterval(-seconds))
    }

    /// `checkFrequency` on the window's first submissions read already: `recent` of them, the
    /// oldest at `oldest`.
    func frequency(recent: Int, oldest: Date?, program: Program, isNew: Bool) throws -> Int? {
        guard let window = frequencyWindow(program) else { return nil }
        let limit = program.applicationLimit
        guard isNew, recent >= limit.count, let oldest else { return recent + (isNew ? 1 : 0) }
        let retry = oldest.addingTimeInterval(window.seconds)
        let seconds = Int(retry.timeIntervalSince(now).rounded(.up))
        let when = ChinaTime.minute(retry)
        throw UserFacingError(
            code: "application_limit", kind: .rateLimited(retryAfterSeconds: max(1, seconds)),
            message: LocalizedText("\(limit.days) 天内最多提交 \(limit.count) 次新申请，请于 \(when) 后再试。",
                                   "At most \(limit.count) new applications in \(limit.days) days; try again after \(when).")
        )
    }

    /// The refusal of a submission with required fields or documents missing (422, each named).
    static func incomplete(_ missing: [String]) -> UserFacingError {
        let zh = missing.map { CheckReasons.fieldLabel($0).zh }.joined(separator: "、")
        let en = missing.map { CheckReasons.fieldLabel($0).en.lowercased() }.joined(separator: ", ")
        return UserFacingError(code: "application_incomplete", kind: .invalidInput,
                               message: LocalizedText("还有必填内容没有填写：\(zh)。请补充后再提交，这次不计入提交次数。",
                                                      "Required parts are missing: \(en). Complete them and submit again; this attempt does not count."),
                               fields: Dictionary(uniqueKeysWithValues: missing.map { ($0, "required") }))
    }
}
