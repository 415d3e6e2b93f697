import Foundation
import IdentityRules
import Plot
import ShimingCore

/// The status page of an application, with its progress line.
extension CasePages {
    // MARK: Status

    /// The automatic checks, one line each: ✓ passed, ✗ failed, – could not run. The applicant's
    /// status page and the reviewer's case page show them alike.
    static func checkList(_ results: [(check: String, code: String, passed: Bool, reason: String)]) -> Node<HTML.BodyContext> {
        Forms.element("ul", [("class", "checks")], results.map { result in
            let ran = result.code != CheckResult.notRunCode
            return Forms.element("li", [("class", result.passed ? "passed" : ran ? "failed" : "not-run"), ("data-check", result.check),
                                        ("data-code", result.code)],
                                 [.text((result.passed ? "✓ " : ran ? "✗ " : "– ") + result.reason)])
        })
    }

    static func status(_ model: Model) -> HTML {
        let lang = model.lang, item = model.item, id = item.id.lowercasedText
        var main: [Node<HTML.BodyContext>] = [
            .h1(.text(model.program.title(lang))),
            .p(.class("lead"), Forms.element("strong", [("class", "state"), ("id", "case-state"), ("data-state", item.state.rawValue)],
                                             [.text(item.state.label(lang))])),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        main += HostedPages.waiting(model.waitingSessions, lang: lang)
        main.append(progress(model))
        if let code = item.identityCode {
            main.append(Forms.element("p", [("class", "identity-code")], [.text(fact(identityCode, "", lang)),
                                                                          Forms.element("strong", [("id", "identity-code")], [.text(IdentityCode.format(code))])]))
        }
        if item.state == .verified, let expires = item.expiresAt {
            main.append(.p(.text(fact(validUntil, StaffPages.time(expires), lang))))
        }
        let reasons = item.decisionReasons()
        if [.returned, .rejected, .needsReview].contains(item.state), !reasons.isEmpty {
            main.append(.h2(.text(problems(lang))))
            main.append(Forms.element("ul", [("class", "problems"), ("id", "reasons")], reasons.map {
                Forms.element("li", [("data-code", $0.code)] + ($0.field.map { [("data-field", $0)] } ?? []), [.text($0.message(lang))])
            }))
            if let message = item.decisionMessage {
                main.append(Forms.element("p", [("class", "reviewer-message"), ("id", "reviewer-message")], [.strong(.text(reviewerSays(lang))), .text(message)]))
            }
        }
        if item.state == .awaitingConfirmation {
            var confirm: [Node<HTML.BodyContext>] = [.h2(.text(confirmTitle(lang))), .p(.text(confirmLead(lang)))]
            if let expires = item.confirmationExpiresAt { confirm.append(.p(.strong(.text(fact(confirmBefore, StaffPages.time(expires), lang))))) }
            confirm.append(Forms.form(action: "/cases/\(id)/confirm", csrf: model.csrf, [
                Forms.field(.init(name: "code", label: code, value: "", autocomplete: "one-time-code", inputMode: "numeric"),
                            error: model.errors["code"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                Forms.submit(Self.confirm, lang: lang),
            ]))
            confirm.append(Forms.form(action: "/cases/\(id)/confirm/resend", csrf: model.csrf, [Forms.submit(resend, lang: lang, primary: false)]))
            main.append(Forms.element("section", [("class", "card"), ("id", "confirmation")], confirm))
        }
        if item.state.isEditable, reasons.contains(where: { $0.code == "guardian_consent_missing" }) || (item.guardianConsentAt == nil && model.values["consent"] == "sent") {
            main.append(Forms.element("section", [("class", "card"), ("id", "consent")], [
                .h2(.text(consentTitle(lang))), .p(.text(consentLead(lang))),
                Forms.form(action: "/cases/\(id)/consent", csrf: model.csrf, [Forms.submit(consentSend, lang: lang, primary: false)]),
                Forms.form(action: "/cases/\(id)/consent/confirm", csrf: model.csrf, [
                    Forms.field(.init(name: "code", label: code, value: "", inputMode: "numeric"),
                                error: model.errors["consent"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                    Forms.submit(Self.confirm, lang: lang),
                ]),
            ]))
        } else if item.guardianConsentAt != nil, item.state.isEditable {
            main.append(.p(.text(consentGiven(lang))))
        }
        if item.state.isEditable {
            let label = item.state == .draft ? continueEditing : edit
            // "Change the details" opens the step that holds what has to be fixed.
            let steps = Step.steps(for: model.program)
            let flagged = steps.first { step in item.flaggedFields.contains { Step.holding($0) == step } } ?? .identity
            main.append(.p(.a(.class("button primary"), .id("edit-case"), .href(stepPath(item, flagged)), .text(label(lang)))))
        }
        if item.state == .verified || item.state == .expired {
            main.append(Forms.element("section", [("class", "card"), ("id", "renew")], [
                .p(.text(renewLead(lang))),
                Forms.form(action: "/cases", csrf: model.csrf, [
                    Forms.void("input", [("type", "hidden"), ("name", "program"), ("value", item.program)]),
                    Forms.void("input", [("type", "hidden"), ("name", "renews"), ("value", id)]),
                    Forms.submit(renew, lang: lang, primary: item.state == .expired),
                ]),
            ]))
        }
        if item.state == .frozen || item.state == .rejected, !item.history.contains(where: { $0.action == CaseAction.appeal.name }) {
            main.append(Forms.element("section", [("class", "card"), ("id", "appeal")], [
                .h2(.text(appealTitle(lang))), .p(.text((item.state == .frozen ? appealFrozenLead : appealRejectedLead)(lang))),
                Forms.form(action: "/cases/\(id)/appeal", csrf: model.csrf, [
                    ReviewPages.textarea("reason", appealReason, value: model.values["reason"] ?? "",
                                         error: model.errors["reason"].map { Forms.message(for: $0, lang: lang) }, lang: lang),
                    Forms.submit(appealSend, lang: lang),
                ]),
            ]))
        }
        if !item.checks.isEmpty {
            main.append(.h2(.text((item.decision?.decidedBy == "system" ? checks : checksBeforeReview)(lang))))
            main.append(checkList(item.checks.map { ($0.check, $0.code, $0.passed, $0.reason(lang)) }))
        }
        main.append(.h2(.text(timeline(lang))))
        main.append(Forms.element("ol", [("class", "timeline")], item.history.map { step in
            Forms.element("li", [("data-state", step.state.rawValue)], [
                .text("\(StaffPages.time(step.at)) · \(step.state.label(lang)) · \(by[step.actorKind]?(lang) ?? step.actorKind)"),
            ])
        }))
        main.append(.p(.a(.href("/cases"), .text(title(lang)))))
        return Layout.page(title: model.program.title, lang: lang, path: "/cases/\(id)", signedIn: true, main: .group(main))
    }

    /// Where the application is on its way: 已提交 → 审核中 → 待确认 → 已认证, with how long a
    /// review usually takes and the help line while the person waits.
    static func progress(_ model: Model) -> Node<HTML.BodyContext> {
        let lang = model.lang, state = model.item.state, program = model.program
        var stages: [(LocalizedText, [CaseState])] = [
            (LocalizedText("已提交", "Submitted"), [.submitted, .checking, .returned]),
            (LocalizedText("审核中", "In review"), [.needsReview, .inReview, .approved, .appealed]),
        ]
        if program.confirmation != nil { stages.append((LocalizedText("待确认", "Confirm"), [.awaitingConfirmation])) }
        stages.append((LocalizedText("已认证", "Verified"), [.verified]))
        guard let current = stages.firstIndex(where: { $0.1.contains(state) }) else { return .empty }
        var nodes: [Node<HTML.BodyContext>] = [
            Forms.element("ol", [("class", "progress"), ("id", "progress")], stages.enumerated().map { index, stage in
                let done = index < current || state == .verified
                var attributes = [("class", done ? "done" : index == current ? "current" : "todo")]
                if index == current { attributes.append(("aria-current", "step")) }
                return Forms.element("li", attributes, [.text((done ? "✓ " : "") + stage.0(lang))])
            }),
        ]
        if [.needsReview, .inReview, .appealed].contains(state) {
            let hours = program.review.dueHours
            let expected = hours >= 24
                ? LocalizedText("一般 \((hours + 23) / 24) 个工作日内处理，结果会短信或邮件通知您。", "Usually handled within \((hours + 23) / 24) working days; you are told by SMS or e-mail.")
                : LocalizedText("一般 \(hours) 小时内处理，结果会短信或邮件通知您。", "Usually handled within \(hours) hours; you are told by SMS or e-mail.")
            nodes.append(.p(.class("expected"), .id("expected-time"), .text(expected(lang))))
        }
        if state != .verified { nodes.append(Layout.helpLine(model.helpPhone, lang: lang)) }
        return .group(nodes)
    }
}
