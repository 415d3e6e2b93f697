import Foundation
import ShimingCore
import ZIPFoundation

/// PIPL art. 45 (copy, portability): everything Shiming holds about the person, as one ZIP —
/// `data.json` (machine-readable), `index.html` (the same, readable, in the person's language),
/// and the documents and proofs they uploaded, opened. Written to a temporary file that the
/// caller streams to them and removes. The export is audited and shows in their access log.
/// Staff-only notes and staff identities are not the person's data and stay out.
struct DataExportService: Sendable {
    let context: ShimingContext
    let stores: StoreProvider
    let cases: CaseService
    let changeRequests: ChangeRequestService
    let grants: GrantService
    let feedback: FeedbackService
    let accessLog: AccessLogService

    var now: Date { context.services.clock.now() }

    /// Where a ZIP is built before it is sent or sealed: `<data dir>/exports/<id>.zip`, the
    /// folder 0700 (made when missing). Whoever builds there removes the file.
    func workFile(_ id: UUID) throws -> URL {
        let folder = URL(fileURLWithPath: context.configuration.dataDirectory).appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return folder.appendingPathComponent("\(id.lowercasedText).zip")
    }

    /// Writes the person's ZIP to `url` (which must not exist yet) and records the export.
    func export(account: Account, to url: URL, lang: Lang, ip: String?) async throws {
        let exportedAt = now
        var files: [(path: String, file: StoredFile)] = []
        let caseParts = try await cases.list(account: account).map { item in
            let part = CasePart(item)
            files += zip(item.documents, part.documents).map { ($1.path, $0) }
            return part
        }
        let requestParts = try await changeRequests.list(account: account).map { request in
            let part = ChangeRequestPart(request)
            files += zip(request.proofs, part.proofs).map { ($1.path, $0) }
            return part
        }
        let data = ExportData(
            exportedAt: exportedAt, account: AccountPart(account), cases: caseParts, changeRequests: requestParts,
            grants: try await grants.list(account: account).map { PlatformViews.GrantBody($0, at: exportedAt) },
            feedback: try await feedback.mine(account).map(FeedbackPart.init),
            messages: try await stores().outbox.messages(about: account.id).compactMap(MessagePart.init),
            accessLog: try await accessLog.all(for: account).map(RightsController.EntryBody.init),
            consents: try await stores().consents.all(account: account.id).map(ConsentPart.init)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let json = try encoder.encode(data)

        let archive = try Archive(url: url, accessMode: .create)
        try Self.add(json, as: "data.json", to: archive)
        try Self.add(Data(ExportPage.render(json: json, lang: lang).utf8), as: "index.html", to: archive)
        for (path, file) in files {
            // One file in memory at a time.
            try Self.add(try await context.files.read(file), as: path, to: archive)
        }
        try await stores().auditAlone("account.exported", actor: .account(account.id), subject: AccountService.subject(account.id), ip: ip,
                                      details: ["files": String(files.count), "cases": String(caseParts.count)], at: exportedAt)
    }

    static func add(_ data: Data, as path: String, to archive: Archive) throws {
        try archive.addEntry(with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate) { position, size in
            data.subdata(in: Int(position)..<Int(position) + size)
        }
    }

    // MARK: What goes into data.json

    struct ExportData: Encodable {
        var format = "shiming-export-1"
        var exportedAt: Date
        var account: AccountPart
        var cases: [CasePart]
        var changeRequests: [ChangeRequestPart]
        var grants: [PlatformViews.GrantBody]
        var feedback: [FeedbackPart]
        var messages: [MessagePart]
        var accessLog: [RightsController.EntryBody]
        var consents: [ConsentPart]
    }

    /// An acceptance, with the client it came from (the person's own address and browser).
    struct ConsentPart: Encodable {
        var kind: String, version: String, hash: String, givenBy: String, channel: String
        var client: String?, `case`: UUID?, acceptedAt: Date, withdrawnAt: Date?

        init(_ item: ConsentAcceptance) {
            (kind, version, hash, givenBy, channel) = (item.kind.rawValue, item.version, item.textHash, item.givenBy.rawValue, item.channel.rawValue)
            (client, `case`, acceptedAt, withdrawnAt) = (item.client, item.caseID, item.acceptedAt, item.withdrawnAt)
        }
    }

    struct AccountPart: Encodable {
        var id: UUID
        var username: String?
        var legalName: String?
        var gender: String?
        var displayName: String?
        var phone: String?
        var phoneConfirmed: Bool
        var email: String?
        var emailConfirmed: Bool
        var guardianPhone: String?
        var guardianPhoneConfirmed: Bool
        var status: String
        var statusReason: String?
        var locale: String
        var createdAt: Date

        init(_ account: Account) {
            id = account.id
            username = account.username
            legalName = account.legalName
            gender = account.gender
            displayName = account.displayName
            phone = account.phone
            phoneConfirmed = account.phoneConfirmed
            email = account.email
            emailConfirmed = account.emailConfirmed
            guardianPhone = account.guardianPhone
            guardianPhoneConfirmed = account.guardianPhoneConfirmed
            status = account.status.rawValue
            statusReason = account.statusReason
            locale = account.locale.rawValue
            createdAt = account.createdAt
        }
    }

    /// A stored file as the API shows it, and where it is in the ZIP.
    struct FilePart: Encodable {
        var file: StoredFileView
        var path: String

        init(_ file: StoredFile, folder: String) {
            self.file = StoredFileView(file)
            path = "\(folder)/\(file.kind.map { "\($0)-" } ?? "")\(file.id.lowercasedText).\(file.format.fileExtension)"
        }

        enum Keys: String, CodingKey { case path }

        /// One object: the file's fields with `path` beside them.
        func encode(to encoder: any Encoder) throws {
            try file.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(path, forKey: .path)
        }
    }

    struct CasePart: Encodable {
        struct Step: Encodable {
            var action: String
            var from: String?
            var state: String
            /// `you`, `staff` or `system`.
            var by: String
            var at: Date
        }

        struct Decision: Encodable {
            var outcome: String
            var reasons: [String]
            var decidedBy: String
            var decidedAt: Date
            var message: String?
        }

        var id: UUID
        var program: String
        var state: String
        var identityCode: String?
        var application: CaseApplication
        var checks: [CheckResult]
        var decision: Decision?
        var history: [Step]
        var documents: [FilePart]
        var guardianConsentAt: Date?
        var submittedAt: Date?
        var verifiedAt: Date?
        var expiresAt: Date?
        var createdAt: Date
        var updatedAt: Date

        init(_ item: Case) {
            id = item.id
            program = item.program
            state = item.state.rawValue
            identityCode = item.identityCode
            application = item.application
            checks = item.checks
            decision = item.decision.map {
                Decision(outcome: $0.outcome, reasons: $0.reasons, decidedBy: $0.decidedBy == "system" ? "system" : "staff",
                         decidedAt: $0.decidedAt, message: item.decisionMessage)
            }
            history = item.history.map {
                Step(action: $0.action, from: $0.from?.rawValue, state: $0.state.rawValue,
                     by: $0.actorKind == "applicant" ? "you" : $0.actorKind, at: $0.at)
            }
            documents = item.documents.map { FilePart($0, folder: "documents/\(item.id.lowercasedText)") }
            guardianConsentAt = item.guardianConsentAt
            submittedAt = item.submittedAt
            verifiedAt = item.verifiedAt
            expiresAt = item.expiresAt
            createdAt = item.createdAt
            updatedAt = item.updatedAt
        }
    }

    struct ChangeRequestPart: Encodable {
        var id: UUID
        var field: String
        var oldValue: String?
        var newValue: String
        var reason: String
        var state: String
        var decidedAt: Date?
        var decisionNote: String?
        var createdAt: Date
        var proofs: [FilePart]

        init(_ request: ChangeRequest) {
            id = request.id
            field = request.field.rawValue
            oldValue = request.oldValue
            newValue = request.newValue
            reason = request.reason
            state = request.state.rawValue
            decidedAt = request.decidedAt
            decisionNote = request.decisionNote
            createdAt = request.createdAt
            proofs = request.proofs.map { FilePart($0, folder: "proofs/\(request.id.lowercasedText)") }
        }
    }

    struct FeedbackPart: Encodable {
        var id: UUID
        var caseId: UUID?
        var page: String?
        var text: String
        var answer: String?
        var createdAt: Date
        var answeredAt: Date?

        init(_ item: FeedbackService.Item) {
            id = item.feedback.id
            caseId = item.feedback.caseID
            page = item.feedback.page
            text = item.text
            answer = item.answer
            createdAt = item.feedback.createdAt
            answeredAt = item.feedback.answeredAt
        }
    }

    struct MessagePart: Encodable {
        var channel: String
        var to: String
        var template: String
        var subject: String?
        var text: String
        var status: String
        var createdAt: Date
        var sentAt: Date?

        init?(_ entry: OutboxEntry) {
            guard let message = entry.message else { return nil }
            channel = message.channel.rawValue
            to = message.to
            template = message.template
            subject = message.subject
            text = message.text
            status = entry.status.rawValue
            createdAt = entry.createdAt
            sentAt = entry.sentAt
        }
    }
}
