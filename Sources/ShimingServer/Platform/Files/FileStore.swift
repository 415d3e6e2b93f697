import Crypto
import Fluent
import Foundation
import NIOPosix
import ShimingCore

/// Where the sealed bytes of uploaded files live. Injected, so tests and other deployments
/// can swap it; the default is a directory in the data dir.
public protocol FileStore: Sendable {
    /// Stores `data` under `name`, replacing nothing: names are fresh UUIDs.
    func write(_ data: Data, name: String) async throws
    /// The bytes stored under `name`.
    func read(name: String) async throws -> Data
    /// Removes what is stored under `name` (no error when it is already gone).
    func remove(name: String) async throws
}

/// Files in a directory (`<data dir>/files/ab/abcdef….bin`), written atomically, on the
/// thread pool so that disk I/O never blocks an event loop. Several instances sharing one
/// PostgreSQL database must share this directory too (a network file system).
public struct DirectoryFileStore: FileStore {
    let root: String
    let threadPool: NIOThreadPool

    public init(root: String, threadPool: NIOThreadPool) {
        self.root = root
        self.threadPool = threadPool
    }

    func path(_ name: String) -> String {
        let folder = String(name.prefix(2))
        return (root as NSString).appendingPathComponent("\(folder)/\(name).bin")
    }

    public func write(_ data: Data, name: String) async throws {
        let path = path(name)
        try await threadPool.runIfActive {
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try data.write(to: URL(fileURLWithPath: path), options: [.atomic])
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        }
    }

    public func read(name: String) async throws -> Data {
        let path = path(name)
        return try await threadPool.runIfActive { try Data(contentsOf: URL(fileURLWithPath: path)) }
    }

    public func remove(name: String) async throws {
        let path = path(name)
        try await threadPool.runIfActive {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }
}

/// A stored upload as the rest of the server sees it.
public struct StoredFile: Sendable, Equatable {
    public var id: UUID
    public var ownerID: UUID
    /// `change_request_proof`, `case_document`, …
    public var purpose: String
    /// The change request or case the file belongs to.
    public var parentID: UUID
    public var kind: String?
    public var format: SniffedFile.Format
    public var size: Int
    public var width: Int?
    public var height: Int?
    public var createdAt: Date
}

/// Uploads encrypted at rest: AES-256-GCM with the file subkey, the file's id bound in as
/// associated data (a sealed file moved under another id does not open), the key id stored in
/// the row. The bytes go to the `FileStore`, the facts to `stored_files`.
struct SealedFiles: Sendable {
    /// Recognises an upload by its content within a size limit (and, when asked, a minimum
    /// picture size), or refuses it naming the `file` field.
    static func check(_ bytes: Data, maxBytes: Int, minimumShortSide: Int = 300) throws -> SniffedFile {
        do throws(FileProblem) {
            return try FileSniffer.check(bytes, maxBytes: maxBytes, minimumShortSide: minimumShortSide)
        } catch {
            throw UserFacingError(code: error.rawValue, kind: .invalidInput, message: error.message, fields: ["file": error.rawValue])
        }
    }

    let store: any FileStore
    let keyRing: KeyRing

    static func context(_ id: UUID) -> Data { Data("file.\(id.uuidString.lowercased())".utf8) }

    /// Seals and writes the bytes; the caller then records the row with `record(…)` in its
    /// transaction. A transaction that fails leaves only an unreadable orphan behind, which
    /// `remove` cleans up.
    func write(_ data: Data, id: UUID) async throws {
        let box = try AES.GCM.seal(data, using: keyRing.key(for: .fileEncryption), authenticating: Self.context(id))
        guard let combined = box.combined else { throw FieldCipherError.malformed }
        try await store.write(combined, name: id.uuidString.lowercased())
    }

    /// Inserts the row describing a written file.
    func record(
        id: UUID, owner: UUID, purpose: String, parent: UUID, kind: String?, sniffed: SniffedFile, size: Int, at now: Date, on db: any Database
    ) async throws -> StoredFile {
        let record = StoredFileRecord()
        record.id = id
        record.ownerID = owner
        record.purpose = purpose
        record.parentID = parent
        record.kind = kind
        record.contentType = sniffed.format.contentType
        record.size = size
        record.width = sniffed.width
        record.height = sniffed.height
        record.keyID = keyRing.keyID
        record.createdAt = now
        try await record.create(on: db)
        return try record.file()
    }

    /// The plaintext bytes of a stored file.
    func read(_ file: StoredFile) async throws -> Data {
        let combined = try await store.read(name: file.id.uuidString.lowercased())
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: keyRing.key(for: .fileEncryption), authenticating: Self.context(file.id))
        } catch {
            throw FieldCipherError.authenticationFailed
        }
    }

    func remove(_ id: UUID) async throws {
        try await store.remove(name: id.uuidString.lowercased())
    }

    /// The files attached to these parents, oldest first.
    static func files(of parents: [UUID], purpose: String, on db: any Database) async throws -> [StoredFile] {
        try await StoredFileRecord.query(on: db).filter(\.$parentID ~~ parents).filter(\.$purpose == purpose)
            .sort(\.$createdAt).all().map { try $0.file() }
    }
}
