import Crypto
import Fluent
import Foundation
import ShimingCore
import SQLKit
import Testing
import VaporTesting
@testable import ShimingServer

/// Per-account data keys (issue 15, crypto-shredding): a person's fields and files are sealed
/// under their own key, erasure destroys it so that a copy taken before (a backup) opens under
/// no key still present, and data stored before keys existed moves to them in resumable batches.
/// Both engines.
@Suite("Account keys")
struct AccountKeyTests {
    /// A sealed value or file of the person, with what it is bound to.
    struct Sealed {
        var what: String
        var value: Data
        var context: Data
        var isFile: Bool
    }

    /// What a backup taken now holds of the account: sealed columns with their contexts, and
    /// the sealed bytes of its files.
    static func backup(_ shiming: TestShiming, _ id: UUID) async throws -> [Sealed] {
        let sql = try #require(shiming.db as? any SQLDatabase)
        var sealed: [Sealed] = []
        func add(_ what: String, _ query: SQLQueryString, context: (UUID) -> String) async throws {
            for row in try await sql.raw(query).all() where try !row.decodeNil(column: "v") {
                let value = try row.decode(column: "v", as: String.self)
                sealed.append(Sealed(what: what, value: Data(value.utf8), context: Data(context(try row.decode(column: "c", as: UUID.self)).utf8),
                                     isFile: false))
            }
        }
        try await add("phone", "SELECT phone_sealed AS v, id AS c FROM accounts WHERE id = \(bind: id)") { AccountRecord.context("phone", $0) }
        try await add("name", "SELECT legal_name_sealed AS v, id AS c FROM accounts WHERE id = \(bind: id)") { AccountRecord.context("legal_name", $0) }
        try await add("application", "SELECT data_sealed AS v, id AS c FROM cases WHERE account_id = \(bind: id)", context: StoredCase.dataContext)
        try await add("feedback", "SELECT text_sealed AS v, id AS c FROM feedback WHERE account_id = \(bind: id)", context: Feedback.context)
        try await add("consent client", "SELECT client_sealed AS v, id AS c FROM consent_acceptances WHERE account_id = \(bind: id)",
                      context: ConsentAcceptanceRecord.clientContext)
        try await add("message", "SELECT payload AS v, id AS c FROM outbox_messages WHERE account_id = \(bind: id)", context: Outbox.payloadContext)
        for file in try await StoredFileRecord.query(on: shiming.db).filter(\.$ownerID == id).all() {
            let fileID = try file.requireID()
            sealed.append(Sealed(what: "file", value: try await shiming.app.shiming.files.store.read(name: fileID.uuidString.lowercased()),
                                 context: SealedFiles.context(fileID), isFile: true))
        }
        return sealed
    }

    /// Every key the deployment still holds: the master's subkeys and each account key in the key store.
    static func keysPresent(_ shiming: TestShiming) async throws -> (field: [SymmetricKey], file: [SymmetricKey]) {
        let keys = shiming.app.shiming.accountKeys
        let accounts = try await keys.accountsWithKeys()
        var accountKeys: [AccountKey] = []
        for account in accounts { accountKeys.append(try await keys.key(for: account)) }
        let ring = shiming.app.shiming.keyRing
        return ([ring.key(for: .fieldEncryption)] + accountKeys.map(\.fieldKey), [ring.key(for: .fileEncryption)] + accountKeys.map(\.fileKey))
    }

    /// Whether any of the keys opens the sealed value.
    static func opens(_ sealed: Sealed, with keys: (field: [SymmetricKey], file: [SymmetricKey])) -> Bool {
        if sealed.isFile {
            return keys.file.contains { key in
                (try? SealedStream.open(sealed.value, key: key, context: sealed.context)) != nil
                    || (try? AES.GCM.open(AES.GCM.SealedBox(combined: sealed.value), using: key, authenticating: sealed.context)) != nil
            }
        }
        let text = String(decoding: sealed.value, as: UTF8.self)
        guard let dot = text.firstIndex(of: "."), let box = Data(base64Encoded: String(text[text.index(after: dot)...])) else { return false }
        return keys.field.contains { key in
            (try? AES.GCM.open(AES.GCM.SealedBox(combined: box), using: key, authenticating: sealed.context)) != nil
        }
    }

    @Test("an account key's id is \"a\" and the account id in lowercase hex, and reads back to the account; other ids name no account")
    func keyIDs() throws {
        for _ in 0..<50 {
            let account = UUID()
            let id = AccountKey.keyID(of: account)
            #expect(id == "a" + account.uuidString.lowercased().filter { $0 != "-" })
            #expect(AccountKey.account(ofKeyID: id) == account)
            #expect(AccountKey.account(ofKeyID: id.uppercased().replacingOccurrences(of: "A", with: "a", range: id.startIndex..<id.index(after: id.startIndex))) == account)
            #expect(AccountKey.account(ofSealed: id + ".c2VhbGVk") == account)
        }
        let valid = AccountKey.keyID(of: UUID())
        for other in ["0a1b2c3d", "", "a", String(valid.dropLast()), valid + "0", "b" + valid.dropFirst(), String(valid.dropLast()) + "g",
                      "a" + String(repeating: "é", count: 16)] {
            #expect(AccountKey.account(ofKeyID: other) == nil, "\(other)")
        }
        #expect(AccountKey.account(ofSealed: "0a1b2c3d.c2VhbGVk") == nil)
        #expect(AccountKey.account(ofSealed: "no dot") == nil)
    }

    @Test("a person's fields and files are sealed under their own key; after erasure what a backup taken before holds of them opens under no key left, the key store keeps no copy, the audit chain verifies")
    func erasureReachesBackups() async throws {
        try await withShiming { shiming in
            let phone = "13800138610"
            let (id, token) = try await shiming.activeApplicant(phone: phone)
            let item = try await shiming.seniorCase(token, name: "郑秀珍", number: residentID(birth: "19590303", sequence: "428"))
            #expect(try await shiming.submitCase(token, item.id)?.state == "needs_review")
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "字大，看得清"]).status == .created)
            try await shiming.deliverOutbox()
            let (otherID, otherToken) = try await shiming.activeApplicant(phone: "13800138611")
            let other = try await shiming.seniorCase(otherToken, name: "孙玉兰", number: residentID(birth: "19570505", sequence: "323"))
            let theirsBefore = try await shiming.getCase(otherToken, other.id)

            let backup = try await Self.backup(shiming, id)
            #expect(Set(backup.map(\.what)).isSuperset(of: ["phone", "application", "feedback", "message", "file"]), "\(backup.map(\.what))")
            let ownKey = try await shiming.app.shiming.accountKeys.key(for: id)
            for sealed in backup where !sealed.isFile {
                #expect(String(decoding: sealed.value, as: UTF8.self).hasPrefix(ownKey.keyID + "."), "\(sealed.what) is under the person's key")
            }
            let own = (field: [ownKey.fieldKey], file: [ownKey.fileKey])
            #expect(backup.allSatisfy { Self.opens($0, with: own) }, "before: the person's key opens all of it")
            #expect(!backup.contains { Self.opens($0, with: (field: [shiming.app.shiming.keyRing.key(for: .fieldEncryption)],
                                                              file: [shiming.app.shiming.keyRing.key(for: .fileEncryption)])) },
                    "nothing of the person is under the master key")
            let sql = try #require(shiming.app.db(.keys) as? any SQLDatabase)
            let wrapped = try #require(try await sql.raw("SELECT wrapped FROM account_keys WHERE account_id = \(bind: id)").first())
                .decode(column: "wrapped", as: String.self)

            #expect(try await shiming.sendObject(.POST, "/api/v1/me/deletion", token: token, ["password": goodPassword]).status == .accepted)
            shiming.clock.advance(by: 7 * 86_400 + 60)
            #expect(try await shiming.app.features.deletion.eraseDue() == 1)

            let present = try await Self.keysPresent(shiming)
            #expect(present.field.count >= 2, "the master key and the other person's key are still there")
            for sealed in backup {
                #expect(!Self.opens(sealed, with: present), "the backup's \(sealed.what) still opens")
            }
            #expect(try await !shiming.app.shiming.accountKeys.accountsWithKeys().contains(id))
            #expect(try await shiming.app.shiming.accountKeys.accountsWithKeys().contains(otherID))
            if TestEngine.postgresURL == nil {
                let keyStore = (shiming.configuration.dataDirectory as NSString).appendingPathComponent("keys.sqlite")
                for path in [keyStore, keyStore + "-wal"] {
                    let bytes = FileManager.default.contents(atPath: path) ?? Data()
                    #expect(bytes.range(of: Data(wrapped.utf8)) == nil, "the wrapped key is still in \(path)")
                }
            }
            // The other person reads their own application and documents as before.
            let theirs = try await shiming.getCase(otherToken, other.id)
            #expect(theirs.identity.name == theirsBefore.identity.name && theirs.identity.documentNumber == theirsBefore.identity.documentNumber)
            #expect(theirs.documents.count == 3)
            let document = try await shiming.send(.GET, "/api/v1/cases/\(other.id)/documents/\(theirs.documents[0].id)", headers: shiming.bearer(otherToken))
            #expect(document.status == .ok && document.body.readableBytes > 1000)
            guard case .intact = try await AuditLog.verify(key: shiming.auditKey.key, on: shiming.db) else {
                Issue.record("the audit chain does not verify")
                return
            }
        }
    }

    /// Puts a value back under the master key, as it was stored before accounts had keys.
    static func downgrade(_ shiming: TestShiming, table: String, column: String, id: UUID, context: String) async throws {
        let sql = try #require(shiming.db as? any SQLDatabase)
        let row = try #require(try await sql.raw("SELECT \(ident: column) AS v FROM \(ident: table) WHERE id = \(bind: id)").first())
        let cipher = shiming.app.shiming.cipher
        try await shiming.app.shiming.accountKeys.prepare([try row.decode(column: "v", as: String.self)])
        let master = try cipher.seal(try cipher.openData(try row.decode(column: "v", as: String.self), context: context), context: context)
        try await sql.raw("UPDATE \(ident: table) SET \(ident: column) = \(bind: master) WHERE id = \(bind: id)").run()
    }

    @Test("data stored before accounts had keys moves to the owner's key one small batch at a time, resuming where it stopped, and reads the same throughout")
    func migrationInBatches() async throws {
        try await withShiming { shiming in
            let (id, token) = try await shiming.activeApplicant(phone: "13800138620")
            let item = try await shiming.seniorCase(token, name: "钱桂英", number: residentID(birth: "19610707", sequence: "222"))
            #expect(try await shiming.sendObject(.POST, "/api/v1/feedback", token: token, ["text": "谢谢"]).status == .created)
            let before = try await shiming.getCase(token, item.id)
            let context = shiming.app.shiming
            let files = try await StoredFileRecord.query(on: shiming.db).filter(\.$ownerID == id).all()
            let fileBytes = try await context.files.read(try files[0].file())

            // Back to how it was stored before: the master key for fields, and for two files.
            try await Self.downgrade(shiming, table: "accounts", column: "phone_sealed", id: id, context: AccountRecord.context("phone", id))
            try await Self.downgrade(shiming, table: "cases", column: "data_sealed", id: item.id, context: StoredCase.dataContext(item.id))
            let feedback = try #require(try await FeedbackRecord.query(on: shiming.db).filter(\.$accountID == id).first())
            try await Self.downgrade(shiming, table: "feedback", column: "text_sealed", id: try feedback.requireID(),
                                     context: Feedback.context(try feedback.requireID()))
            for file in files.prefix(2) {
                let plaintext = try await context.files.read(try file.file())
                let fileID = try file.requireID()
                let writer = SealedStream.Writer(upload: try await context.files.store.create(name: fileID.uuidString.lowercased()),
                                                 key: context.keyRing.key(for: .fileEncryption), context: SealedFiles.context(fileID),
                                                 salt: Array(repeating: 7, count: 32))
                try await writer.append(Array(plaintext))
                try await writer.finish()
                file.keyID = context.keyRing.keyID
                try await file.save(on: shiming.db)
            }
            // A process stopped between re-sealing a file and telling its row: it still opens.
            let halfway = try files[1].file()
            try await context.files.write(try await context.files.read(halfway), id: halfway.id, owner: id)
            #expect(try await context.files.read(halfway) == (try await context.files.read(try files[1].file())))

            let service = shiming.app.features.keyMigration
            let remaining = try await service.remaining()
            let total = remaining.map(\.1).reduce(0, +)
            #expect(total == 5, "\(remaining.filter { $0.1 > 0 })")
            #expect(try await shiming.getCase(token, item.id).identity.name == before.identity.name, "read while under the master key")

            var steps = 0
            var moved = 0
            while steps < 20 {
                let step = try await service.step(limit: 1)
                if step.isEmpty { break }
                steps += 1
                moved += step.moved + step.files
                #expect(try await service.remaining().map(\.1).reduce(0, +) == total - moved, "each batch is kept")
                #expect(try await shiming.getCase(token, item.id).identity.name == before.identity.name, "read between batches")
            }
            #expect(steps >= 3, "small batches")
            #expect(moved == total)
            #expect(try await service.remaining().allSatisfy { $0.1 == 0 })

            let after = try await shiming.getCase(token, item.id)
            #expect(after.identity.name == before.identity.name && after.identity.documentNumber == before.identity.documentNumber)
            let application = try shiming.app.features.cases.application(of: try #require(try await Store(shiming.db, context: context).cases.find(item.id)))
            #expect(application.identity.name == "钱桂英")
            let phone = try await Store(shiming.db, context: context).accounts.find(id)?.phone
            #expect(phone == "13800138620")
            for file in try await StoredFileRecord.query(on: shiming.db).filter(\.$ownerID == id).all() {
                #expect(file.keyID == AccountKey.keyID(of: id))
            }
            #expect(try await context.files.read(try files[0].file()) == fileBytes)
            let row = try #require(try await CaseRecord.find(item.id, on: shiming.db))
            #expect(row.dataSealed.hasPrefix(AccountKey.keyID(of: id) + "."))
            let items = try await shiming.app.features.feedback.mine(try #require(try await Store(shiming.db, context: context).accounts.find(id)))
            #expect(items.first?.text == "谢谢")
        }
    }
}
