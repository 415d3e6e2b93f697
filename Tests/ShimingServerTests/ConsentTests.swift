import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// Consent records (issue 15, PIPL arts. 14, 15, 29, 31): recorded at registration and when
/// accepted, asked again when a text changes, withdrawal stops processing. Both engines.
@Suite("Consents")
struct ConsentTests {
    struct Mine: Decodable {
        struct Standing: Decodable { var kind: String; var version: String; var hash: String; var state: String; var acceptedVersion: String?; var givenBy: String? }
        struct Record: Decodable { var kind: String; var version: String; var hash: String; var givenBy: String; var channel: String; var withdrawnAt: Date? }
        var consents: [Standing]
        var pending: [String]
        var history: [Record]
        var stoppedApplications: Int?

        func state(_ kind: String) -> String? { consents.first { $0.kind == kind }?.state }
    }

    func mine(_ shiming: TestShiming, _ token: String) async throws -> Mine {
        let response = try await shiming.send(.GET, "/api/v1/me/consents", headers: shiming.bearer(token))
        #expect(response.status == .ok, "\(response.text)")
        return try response.json(Mine.self)
    }

    /// Publishes a new text of a kind, as an administrator editing the data dir would.
    func publish(_ shiming: TestShiming, _ kind: ConsentKind, version: String, extra: String) throws {
        let directory = shiming.app.shiming.consents.directory
        for lang in Lang.allCases {
            let text = "version: \(version)\n\n" + ConsentDefaults.markdown(kind, lang) + "\n" + extra + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: ConsentCatalog.path(directory, kind, lang)))
        }
        try shiming.app.shiming.consents.reload()
    }

    @Test("registration records each text accepted, by whom and how; a guardian's registration is the guardian's consent; no application without the sensitive-data consent")
    func recordedAtRegistration() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138310")
            let adult = try await mine(shiming, token)
            #expect(adult.consents.map(\.state) == ["accepted", "accepted", "accepted"])
            #expect(adult.pending.isEmpty)
            #expect(Set(adult.history.map(\.kind)) == ["terms", "privacy", "sensitive"])
            #expect(adult.history.allSatisfy { $0.givenBy == "self" && $0.channel == "api" && $0.version == ConsentDefaults.version })
            #expect(adult.history.map(\.hash).allSatisfy { $0.count == 64 })

            // A pupil under 14 registered with the guardian's phone, without the sensitive-data consent.
            let registered = try await shiming.sendObject(.POST, "/api/v1/accounts", token: nil, [
                "username": "xiaoming2014", "guardianPhone": "13900139311", "password": goodPassword, "acceptTerms": true,
            ])
            #expect(registered.status == .created, "\(registered.text)")
            let id = try registered.json(TestShiming.Created.self).id
            let code = try #require(try await shiming.latestCode(to: "13900139311"))
            #expect(try await shiming.send(.POST, "/api/v1/accounts/\(id)/contacts/confirm", json: ["channel": "sms", "code": code]).status == .ok)
            let pupil = try await shiming.signIn("xiaoming2014")
            let record = try await mine(shiming, pupil)
            #expect(record.state("terms") == "accepted" && record.state("sensitive") == "missing")
            #expect(record.history.allSatisfy { $0.givenBy == "guardian" })
            #expect(record.pending.isEmpty, "the sensitive-data consent is asked before the first application, not on every request")

            let refused = try await shiming.sendObject(.POST, "/api/v1/cases", token: pupil, ["program": "senior-personal"])
            #expect(refused.status == .forbidden)
            #expect(refused.apiError?.code == "consent_required")
            #expect(refused.apiError?.fields?["acceptSensitive"] == "required")
            // The pupil's consent is the guardian's: confirmed with a code sent to the guardian's phone.
            let accept: [String: Any] = ["accept": [["kind": "sensitive", "version": ConsentDefaults.version]]]
            let alone = try await shiming.sendObject(.POST, "/api/v1/me/consents", token: pupil, accept)
            #expect(alone.status == .unprocessableEntity)
            #expect(alone.apiError?.fields?["guardianCode"] == "required")
            shiming.clock.advance(by: 120)  // past the pause between two codes to one phone
            let sent = try await shiming.send(.POST, "/api/v1/me/consents/guardian/code", headers: shiming.bearer(pupil))
            #expect(sent.status == .accepted, "\(sent.text)")
            let guardianCode = try #require(try await shiming.latestCode(to: "13900139311"))
            #expect(shiming.sink.messages.last { $0.to == "13900139311" }?.text.contains("敏感个人信息处理同意书") == true)
            var wrong = accept
            wrong["guardianCode"] = guardianCode == "000000" ? "111111" : "000000"
            #expect(try await shiming.sendObject(.POST, "/api/v1/me/consents", token: pupil, wrong).apiError?.fields?["guardianCode"] == "invalid")
            var right = accept
            right["guardianCode"] = guardianCode
            let accepted = try await shiming.sendObject(.POST, "/api/v1/me/consents", token: pupil, right)
            #expect(accepted.status == .ok, "\(accepted.text)")
            let afterGuardian = try accepted.json(Mine.self)
            #expect(afterGuardian.state("sensitive") == "accepted")
            #expect(afterGuardian.history.first { $0.kind == "sensitive" }?.givenBy == "guardian")
            // An adult's account needs no guardian.
            #expect(try await shiming.send(.POST, "/api/v1/me/consents/guardian/code", headers: shiming.bearer(token)).status == .conflict)
            _ = try await shiming.createCase(pupil, ["program": "senior-personal"])

            let events = try await AuditEventRecord.query(on: shiming.db).filter(\.$action == "consent.accepted").count()
            #expect(events == 3 + 2 + 1)
        }
    }

    @Test("a new version (or new words under the same version) is asked again before acting; the old one is refused; both stay on record")
    func newVersionAskedAgain() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138320")
            let item = try await shiming.createCase(token, ["program": "senior-personal"])
            let before = try await mine(shiming, token)
            try publish(shiming, .terms, version: "2026-12", extra: "## 新增条款\n\n平台会定期重新核验。")

            let now = try await mine(shiming, token)
            #expect(now.pending == ["terms"])
            #expect(now.state("terms") == "outdated")
            #expect(now.consents.first { $0.kind == "terms" }?.version == "2026-12")
            // Acting waits; reading one's own data does not.
            let blocked = try await shiming.sendObject(.POST, "/api/v1/cases", token: token, ["program": "senior-personal"])
            #expect(blocked.status == .forbidden)
            #expect(blocked.apiError?.code == "consent_required")
            #expect(try await shiming.send(.GET, "/api/v1/cases/\(item.id)", headers: shiming.bearer(token)).status == .ok)
            // The pages send the person to read the new text first.
            let (web, _) = try await shiming.webSession("13800138320")
            let page = try await shiming.app.testing().sendRequest(.GET, "/cases", headers: web)
            #expect(page.status == .seeOther)
            #expect(page.headers.first(name: .location) == "/account/consents?next=/cases")
            let consentPage = try await shiming.app.testing().sendRequest(.GET, "/account/consents?next=/cases", headers: web)
            #expect(consentPage.status == .ok)
            #expect(consentPage.body.string.contains("新增条款") && consentPage.body.string.contains("accept-terms"))
            // Someone who does not accept the new terms may still leave.
            #expect(try await shiming.app.testing().sendRequest(.GET, "/account/delete", headers: web).status == .ok)

            let stale = try await shiming.sendObject(.POST, "/api/v1/me/consents", token: token,
                                                     ["accept": [["kind": "terms", "version": ConsentDefaults.version]]])
            #expect(stale.status == .conflict)
            #expect(stale.apiError?.code == "consent_outdated")
            let accepted = try await shiming.sendObject(.POST, "/api/v1/me/consents", token: token, ["accept": [["kind": "terms", "version": "2026-12"]]])
            #expect(accepted.status == .ok, "\(accepted.text)")
            let after = try accepted.json(Mine.self)
            #expect(after.pending.isEmpty)
            let terms = after.history.filter { $0.kind == "terms" }
            #expect(terms.map(\.version) == ["2026-12", ConsentDefaults.version])
            #expect(terms[0].hash != terms[1].hash && terms[1].hash == before.consents[0].hash)
            _ = try await shiming.createCase(token, ["program": "senior-personal"])

            // New words under the same version are a new text too; accepting the words read before is refused.
            let read = try #require(try await mine(shiming, token).consents.first { $0.kind == "terms" }?.hash)
            try publish(shiming, .terms, version: "2026-12", extra: "## 新增条款\n\n平台会定期重新核验，并提前通知。")
            #expect(try await mine(shiming, token).pending == ["terms"])
            let changed = try await shiming.sendObject(.POST, "/api/v1/me/consents", token: token,
                                                       ["accept": [["kind": "terms", "version": "2026-12", "hash": read]]])
            #expect(changed.apiError?.code == "consent_outdated")
            // Staff are not asked (they accept no applicant terms).
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.consent")
            #expect(try await shiming.send(.GET, "/api/v1/review/tasks", headers: shiming.bearer(reviewer)).status == .ok)
        }
    }

    @Test("withdrawing the sensitive-data consent stops the open applications and their review; the terms cannot be withdrawn alone; the audit chain holds")
    func withdrawalStopsProcessing() async throws {
        try await withShiming { shiming in
            let (_, token) = try await shiming.activeApplicant(phone: "13800138330")
            let reviewer = try await shiming.staff([.reviewer], username: "reviewer.withdraw")
            let reviewed = try await shiming.seniorCase(token, name: "赵秀英", number: adultFemale)
            #expect(try await shiming.submitCase(token, reviewed.id)?.state == "needs_review")
            #expect(try await shiming.task(for: reviewed.id, staff: reviewer) != nil)
            let draft = try await shiming.createCase(token, ["program": "senior-personal"])

            let terms = try await shiming.send(.DELETE, "/api/v1/me/consents/terms", headers: shiming.bearer(token))
            #expect(terms.status == .conflict)
            #expect(terms.apiError?.code == "consent_not_withdrawable")

            let withdrawn = try await shiming.send(.DELETE, "/api/v1/me/consents/sensitive", headers: shiming.bearer(token))
            #expect(withdrawn.status == .ok, "\(withdrawn.text)")
            let body = try withdrawn.json(Mine.self)
            #expect(body.stoppedApplications == 2)
            #expect(body.state("sensitive") == "withdrawn")
            #expect(body.history.first { $0.kind == "sensitive" }?.withdrawnAt != nil)
            #expect(try await shiming.getCase(token, reviewed.id).state == "withdrawn")
            #expect(try await shiming.getCase(token, draft.id).state == "withdrawn")
            #expect(try await shiming.task(for: reviewed.id, staff: reviewer) == nil, "the review task is cancelled")
            let edit = try await shiming.sendObject(.PATCH, "/api/v1/cases/\(draft.id)", token: token, ["identity": ["name": "赵秀英"]])
            #expect(edit.status == .conflict)
            let again = try await shiming.sendObject(.POST, "/api/v1/cases", token: token, ["program": "senior-personal"])
            #expect(again.apiError?.code == "consent_required")
            // Withdrawing again changes nothing.
            let twice = try await shiming.send(.DELETE, "/api/v1/me/consents/sensitive", headers: shiming.bearer(token))
            #expect(try twice.json(Mine.self).stoppedApplications == 0)

            let actions = try await AuditEventRecord.query(on: shiming.db).all().map(\.action)
            #expect(actions.filter { $0 == "case.withdrawn" }.count == 2)
            #expect(actions.filter { $0 == "consent.withdrawn" }.count == 1)
            guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("the audit chain does not verify")
                return
            }
        }
    }

    @Test("the consent texts: served with their version, refused at start when the two languages disagree")
    func texts() async throws {
        try await withShiming { shiming in
            let response = try await shiming.send(.GET, "/api/v1/consents")
            struct Text: Decodable { var kind: String; var version: String; var url: String }
            let texts = try response.json([Text].self)
            #expect(texts.map(\.kind) == ["terms", "privacy", "sensitive"])
            #expect(texts.allSatisfy { $0.version == ConsentDefaults.version })
            let page = try await shiming.send(.GET, "/sensitive-data")
            #expect(page.status == .ok)
            #expect(page.text.contains("敏感个人信息处理同意书") && page.text.contains("版本 \(ConsentDefaults.version)"))

            let directory = shiming.app.shiming.consents.directory
            try Data("version: 2027-01\n\n# Terms\n\nNew.\n".utf8).write(to: URL(fileURLWithPath: ConsentCatalog.path(directory, .terms, .en)))
            #expect(throws: ConfigurationError.self) { try ConsentCatalog(directory: directory) }
            try Data("no version line\n".utf8).write(to: URL(fileURLWithPath: ConsentCatalog.path(directory, .terms, .en)))
            #expect(throws: ConfigurationError.self) { try ConsentCatalog(directory: directory) }
        }
    }
}
