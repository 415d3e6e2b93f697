import Foundation
import IdentityRules
import Plot
import ShimingCore

/// One case side by side for the reviewer: what was submitted, the documents, the checks, the
/// person's other cases, the contact log, reveal and the decision.
extension ReviewPages {
    /// What a revealable value is called: a case field, or the account's own contact.
    static func revealLabel(_ key: String) -> LocalizedText {
        switch key {
        case "account.phone": ReviewText.accountPhone
        case "account.email": ReviewText.accountEmail
        default: CheckReasons.fieldLabel(key)
        }
    }

    /// A stored value as people read it: genders, relations and document types in words.
    static func shown(_ field: String, _ value: String, lang: Lang) -> String {
        switch field {
        case "identity.gender": CasePages.genders.first { $0.0 == value && !value.isEmpty }?.1(lang) ?? value
        case "guardian.relation": CasePages.relations.first { $0.0 == value }?.1(lang) ?? value
        case "identity.documentType": Program.IdentityDocument(rawValue: value)?.label(lang) ?? value
        default: value
        }
    }

    /// A decision in words: the outcome and the reasons' texts.
    static func decisionText(_ decision: CaseView.Decision, lang: Lang) -> String {
        let outcome = ReviewText.outcomes.first { $0.0 == decision.outcome }?.1(lang)
            ?? (["approved": CaseState.approved, "needs_review": .needsReview, "returned": .returned][decision.outcome]?.label(lang) ?? decision.outcome)
        return ([outcome] + decision.reasons.map(\.message)).joined(separator: " · ")
    }

    static func reviewCase(_ model: CaseModel) -> HTML {
        let lang = model.lang, view = model.view, item = view.case, task = view.task
        let caseID = lower(item.id)
        var main: [Body] = [
            .p(.class("lead"), .text("\(model.programTitle) · "),
               Forms.element("strong", [("id", "case-state"), ("data-state", item.state)], [.text(item.stateLabel)]),
               .text(" · \(ReviewText.kinds[task.kind]?(lang) ?? task.kind) · \(ReviewText.due(lang)) \(StaffPages.time(task.dueAt))")),
        ]
        if let notice = model.notice { main.append(Forms.notice(notice, kind: model.noticeKind)) }
        if let (field, value) = model.revealed {
            main.append(Forms.element("div", [("class", "notice ok"), ("id", "revealed"), ("data-field", field)],
                                      [.text("\(revealLabel(field)(lang))\(ReviewText.revealed(lang))\(value)")]))
        }
        if let appeal = view.appeal {
            main.append(section("appeal", ReviewText.appeal, lang: lang, [
                .p(.strong(.text(ReviewText.contests[appeal.contests]?(lang) ?? appeal.contests))),
                Forms.element("blockquote", [], [.text(appeal.reason)]),
            ]))
        }

        // Left: what was submitted; right: the documents.
        let identity = item.identity
        var facts: [(String, String?)] = [
            ("identity.name", identity.name), ("identity.documentType", identity.documentType), ("identity.documentNumber", identity.documentNumber),
            ("identity.gender", identity.gender), ("identity.address", identity.address),
            ("contact.phone", item.contact?.phone), ("contact.email", item.contact?.email),
            ("school.school", item.school?.school), ("school.grade", item.school?.grade), ("school.class", item.school?.class),
            ("guardian.name", item.guardian?.name), ("guardian.phone", item.guardian?.phone), ("guardian.relation", item.guardian?.relation),
            ("organisation.name", item.organisation?.name), ("organisation.creditCode", item.organisation?.creditCode),
            ("organisation.representative", item.organisation?.representative),
        ]
        facts = facts.filter { $0.1 != nil }
        let dataSection = section("submitted", ReviewText.submitted, lang: lang, [
            Forms.element("dl", [("class", "facts")], facts.flatMap { field, value in
                [Forms.element("dt", [], [.text(CheckReasons.fieldLabel(field)(lang))]),
                 Forms.element("dd", [("data-field", field)], [.text(shown(field, value ?? "", lang: lang))])]
            }),
        ])
        let documents = section("documents", ReviewText.documents, lang: lang, item.documents.map { file in
            let href = "/staff/review/cases/\(caseID)/documents/\(lower(file.id))"
            let label = file.kind.map { CheckReasons.fieldLabel("documents.\($0)")(lang) } ?? ""
            if file.contentType.hasPrefix("image/") {
                return Forms.element("figure", [], [
                    Forms.element("a", [("href", href)], [Forms.void("img", [("src", href), ("alt", label), ("loading", "lazy")])]),
                    Forms.element("figcaption", [], [.text(label)]),
                ])
            }
            return .p(link(href, "\(label) · \(ReviewText.openDocument(lang))"))
        })
        main.append(Forms.element("div", [("class", "side-by-side")], [dataSection, documents]))

        main.append(section("checks", ReviewText.checks, lang: lang, [
            CasePages.checkList(item.checks.map { ($0.check, $0.code, $0.passed, $0.reason) }),
        ]))
        if let registry = item.checks.first(where: { $0.check == "registry" }), registry.matched != nil || registry.differed != nil {
            let rows: [[Body]] = (registry.matched ?? []).map { [.text(matchLabel($0, lang)), .text("✓ " + ReviewText.matched(lang))] }
                + (registry.differed ?? []).map { [.text(matchLabel($0, lang)), .text("✗ " + ReviewText.differed(lang))] }
            main.append(section("registry", ReviewText.registry, lang: lang, [StaffPages.table([ReviewText.field(lang), ""], rows)]))
        }
        if !view.related.isEmpty {
            main.append(section("related", ReviewText.related, lang: lang, [StaffPages.table(
                [ReviewText.program(lang), StaffText.state(lang), ReviewText.decision(lang), StaffText.filedAt(lang)],
                view.related.map { other in
                    let title = model.programTitles[other.program] ?? other.program
                    let whose = (other.sameAccount ? ReviewText.sameAccount : ReviewText.sameNumber)(lang)
                    // The other account behind a duplicate, for those who may open accounts.
                    let account: Body = model.canReadAccounts && !other.sameAccount
                        ? .group(.text(" · "), link("/staff/accounts?id=\(lower(other.accountId))", ReviewText.openAccount(lang))) : .empty
                    return [
                        .group(.text("\(title) · \(whose)"), account),
                        .text(CaseState(rawValue: other.state)?.label(lang) ?? other.state),
                        .text(other.decision.map { decisionText($0, lang: lang) } ?? "—"),
                        .text(StaffPages.time(other.createdAt)),
                    ]
                }
            )]))
        }
        let channelOptions = ReviewService.contactChannels.map { ($0, ReviewText.channels[$0]?(lang) ?? $0) }
        main.append(section("contacts", ReviewText.contacts, lang: lang, [
            Forms.element("ul", [("class", "plain")], view.contacts.map {
                Forms.element("li", [], [.text("\(StaffPages.time($0.at)) · \(ReviewText.channels[$0.channel]?(lang) ?? $0.channel) · \($0.note)")])
            }),
            Forms.form(action: "/staff/review/cases/\(caseID)/contacts", csrf: model.csrf, [
                select("channel", ReviewText.channel, channelOptions, error: error(model, "channel"), lang: lang),
                textarea("contactNote", ReviewText.contactNote, value: model.values["contactNote"] ?? "", error: error(model, "contactNote"), lang: lang),
                Forms.submit(ReviewText.recordContact, lang: lang, primary: false),
            ]),
        ]))
        // What this case has, the number first; the account's own contacts always.
        let present = Set(facts.map(\.0))
        let revealOptions = ReviewService.revealOrder.filter { $0.hasPrefix("account.") || present.contains($0) }.map { key in
            (key, revealLabel(key)(lang))
        }
        main.append(section("reveal", ReviewText.reveal, lang: lang, [
            .p(.class("hint"), .text(ReviewText.revealLead(lang))),
            Forms.form(action: "/staff/review/cases/\(caseID)/reveal", csrf: model.csrf, [
                select("field", ReviewText.field, revealOptions, error: error(model, "field"), lang: lang),
                Forms.field(.init(name: "purpose", label: ReviewText.purpose, value: model.values["purpose"] ?? ""), error: error(model, "purpose"), lang: lang),
                Forms.submit(ReviewText.reveal, lang: lang, primary: false),
            ]),
        ]))
        if task.state == ReviewTaskState.open.rawValue {
            let outcomes = view.appeal == nil ? ReviewText.outcomes : ReviewText.outcomes.filter { $0.0 != "return" }
            let chosen = model.values["outcome"]
            main.append(section("decision", ReviewText.decision, lang: lang, [
                Forms.form(action: "/staff/review/tasks/\(lower(task.id))/decision", csrf: model.csrf, [
                    Forms.element("fieldset", [("class", "choices"), ("id", "outcomes")], [Forms.element("legend", [], [.text(ReviewText.decision(lang))])]
                        + (model.errors["outcome"].map { _ in [Forms.element("p", [("class", "field-error"), ("id", "outcome-error")],
                                                                             [.text(ReviewText.chooseOutcome(lang))])] } ?? [])
                        + outcomes.map { value, label in
                            var attributes = [("type", "radio"), ("name", "outcome"), ("value", value), ("id", "outcome-\(value)")]
                            if chosen == value { attributes.append(("checked", "checked")) }
                            return Forms.element("label", [("for", "outcome-\(value)")], [Forms.void("input", attributes), .text(" " + label(lang))])
                        }),
                    Forms.element("fieldset", [("class", "choices"), ("id", "reason-codes")],
                                  [Forms.element("legend", [], [.text(ReviewText.reasons(lang))])]
                                    + (error(model, "reasons").map { [Forms.element("p", [("class", "field-error")], [.text($0)])] } ?? [])
                                    + model.reasons.map { reason in
                                        var attributes = [("type", "checkbox"), ("name", "reasons[]"), ("value", reason.code), ("id", "reason-\(reason.code)")]
                                        if model.chosenReasons.contains(reason.code) { attributes.append(("checked", "checked")) }
                                        return Forms.element("label", [("for", "reason-\(reason.code)")],
                                                             [Forms.void("input", attributes), .text(" " + reason.text(lang))])
                                    }),
                    // For each reason, the item it is about: the applicant's edit button opens that step.
                    Forms.element("fieldset", [("class", "choices"), ("id", "reason-fields")],
                                  [Forms.element("legend", [], [.text(ReviewText.reasonAbout(lang))])]
                                    + (error(model, "fields").map { [Forms.element("p", [("class", "field-error")], [.text($0)])] } ?? [])
                                    + model.reasons.map { reason in
                                        let chosenField = model.values["fields.\(reason.code)"] ?? ""
                                        let options = [("", ReviewText.noField(lang))] + model.fieldNames.map { ($0, CheckReasons.fieldLabel($0)(lang)) }
                                        return Forms.labelled(id: "about-\(reason.code)", label: reason.text(lang), error: nil,
                                                              control: Forms.element("select", [("id", "about-\(reason.code)"), ("name", "fields[\(reason.code)]")],
                                                                                     options.map { value, text in
                                            Forms.element("option", value == chosenField ? [("value", value), ("selected", "selected")] : [("value", value)], [.text(text)])
                                        }))
                                    }),
                    textarea("message", ReviewText.message, value: model.values["message"] ?? "", error: error(model, "message"), lang: lang),
                    textarea("note", ReviewText.note, value: model.values["note"] ?? "", error: error(model, "note"), lang: lang),
                    Forms.submit(ReviewText.decide, lang: lang),
                ]),
            ]))
        } else {
            main.append(.p(.text(ReviewText.taskClosed(lang))))
        }
        main.append(section("raise-alert", ReviewText.raiseAlert, lang: lang, [
            Forms.form(action: "/staff/review/cases/\(caseID)/alert", csrf: model.csrf, [
                textarea("alertNote", ReviewText.alertNote, value: model.values["alertNote"] ?? "", error: error(model, "alertNote"), lang: lang),
                Forms.submit(ReviewText.raiseAlert, lang: lang, primary: false),
            ]),
        ]))
        if task.mine, task.state == ReviewTaskState.open.rawValue {
            main.append(Forms.form(action: "/staff/review/tasks/\(lower(task.id))/release", csrf: model.csrf,
                                   [Forms.submit(ReviewText.release, lang: lang, primary: false)]))
        }
        main.append(.p(link("/staff/review", ReviewText.queue(lang))))
        return frame(ReviewText.caseTitle, lang: lang, path: "/staff/review/cases/\(caseID)", main)
    }
}
