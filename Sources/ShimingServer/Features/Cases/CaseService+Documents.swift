import Foundation
import IdentityRules
import ShimingCore

/// The documents of an application: added (sniffed, sealed, legibility), removed, read.
extension CaseService {
    // MARK: Documents

    /// Stores a document (JPEG, PNG or PDF by content, within the program's size limit for
    /// that kind), sealed. With `replace`, earlier documents of the same kind are removed.
    /// A picture too small to read is refused here, with the size it needs, so the applicant
    /// learns it at the upload and not after submitting.
    /// The file has been received and sealed already; refused, it is removed.
    func addDocument(to id: UUID, account: Account, kind rawKind: String?, file upload: ReceivedFile, replace: Bool, ip: String?) async throws -> StoredFile {
        let files = context.files
        let (stored, replaced) = try await files.owning(upload) { () async throws -> (StoredFile, [StoredFile]) in
            try account.checkMayAct()
            let current = try await own(id, account: account)
            guard current.state.isEditable else { throw Self.notEditable(current.state) }
            let program = try program(current.program)
            guard let rawKind, !rawKind.isEmpty else { throw AccountError.invalid(["kind": "required"]) }
            guard let kind = Program.DocumentKind(rawValue: rawKind), let rule = program.documents.first(where: { $0.kind == kind }) else {
                throw AccountError.invalid(["kind": "invalid_value"])
            }
            let sniffed = try SealedFiles.check(upload, maxBytes: rule.maxBytes, minimumShortSide: 0)
            guard rule.formats.contains(sniffed.format) else {
                throw UserFacingError(code: "unsupported_file_type", kind: .invalidInput,
                                      message: LocalizedText("这里只接受 \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) 文件。",
                                                             "Only \(rule.formats.map { $0.rawValue.uppercased() }.joined(separator: "/")) files are accepted here."),
                                      fields: ["file": "unsupported_file_type"])
            }
            if let width = sniffed.width, let height = sniffed.height, min(width, height) < rule.minimumShortSide {
                let result = CheckResult.fix("documents", "document_illegible", field: "documents.\(kind.rawValue)", detail: String(rule.minimumShortSide))
                throw UserFacingError(code: "document_illegible", kind: .invalidInput, message: result.reason, fields: ["file": "document_illegible"])
            }
            let replaced = replace ? current.documents.filter { $0.kind == kind.rawValue } : []
            guard current.documents.count - replaced.count < Self.maxDocuments else {
                throw UserFacingError(code: "too_many_files", kind: .invalidInput,
                                      message: LocalizedText("每个申请最多上传 \(Self.maxDocuments) 份材料。", "At most \(Self.maxDocuments) files per application."),
                                      fields: ["file": "too_many_files"])
            }
            let now = self.now
            let quota = context.configuration.uploadQuotaBytes
            let stored = try await store.transaction { tx in
                let held = try await tx.storedBytes(of: account.id) - replaced.map(\.size).reduce(0, +)
                guard held + upload.size <= quota else { throw Self.storageFull(quota) }
                var record = try await tx.cases.locked(id, version: current.version)
                try await tx.cases.save(&record, at: now)
                let replacedIDs = replaced.map(\.id)
                try await tx.deleteFiles(replacedIDs)
                let stored = try await tx.recordFile(in: files, id: upload.id, owner: account.id, purpose: Self.documentPurpose, parent: id,
                                                     kind: kind.rawValue, sniffed: sniffed, size: upload.size, at: now)
                var details = ["file": upload.id.lowercasedText, "kind": kind.rawValue, "contentType": sniffed.format.contentType,
                               "size": String(upload.size)]
                if !replacedIDs.isEmpty { details["replaced"] = replacedIDs.map { $0.lowercasedText }.joined(separator: ",") }
                try await tx.audit("case.document_added", actor: .account(account.id), subject: Self.subject(id), ip: ip, details: details, at: now)
                return stored
            }
            return (stored, replaced)
        }
        for file in replaced { try? await files.remove(file.id) }
        return stored
    }

    static func storageFull(_ quota: Int) -> UserFacingError {
        let megabytes = quota / (1024 * 1024)
        return UserFacingError(code: "storage_full", kind: .invalidInput,
                               message: LocalizedText("您上传的材料已达到 \(megabytes) MB 上限，请先删除不需要的材料。",
                                                      "Your uploads have reached the \(megabytes) MB limit; remove files you no longer need first."),
                               fields: ["file": "storage_full"])
    }

    func removeDocument(_ fileID: UUID, from id: UUID, account: Account, ip: String?) async throws {
        try account.checkMayAct()
        let current = try await own(id, account: account)
        guard current.state.isEditable else { throw Self.notEditable(current.state) }
        guard current.documents.contains(where: { $0.id == fileID }) else { throw CommonErrors.notFound }
        let now = self.now
        try await store.transaction { tx in
            var record = try await tx.cases.locked(id, version: current.version)
            try await tx.cases.save(&record, at: now)
            try await tx.deleteFiles([fileID])
            try await tx.audit("case.document_removed", actor: .account(account.id), subject: Self.subject(id), ip: ip,
                               details: ["file": fileID.lowercasedText], at: now)
        }
        try? await context.files.remove(fileID)
    }

    func document(_ fileID: UUID, of item: Case) async throws -> (StoredFile, Data) {
        guard let file = item.documents.first(where: { $0.id == fileID }) else { throw CommonErrors.notFound }
        return (file, try await context.files.read(file))
    }
}

extension Program {
    /// The most any of the program's documents may weigh: what an upload is read up to before
    /// its kind (which may come after the file in the form) is known.
    var largestDocumentBytes: Int { documents.map(\.maxBytes).max() ?? 0 }
}
