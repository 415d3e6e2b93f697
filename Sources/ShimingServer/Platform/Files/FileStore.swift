import Crypto
import Fluent
import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import ShimingCore
import SQLKit
import Vapor

/// Where the sealed bytes of uploaded files live. Injected, so tests and other deployments
/// can swap it; the default is a directory in the data dir.
public protocol FileStore: Sendable {
    /// Starts a new object under `name` (names are fresh UUIDs), written in parts as they
    /// arrive; nothing is visible under the name until the upload is committed.
    func create(name: String) async throws -> any FileStoreUpload
    /// The bytes stored under `name`.
    func read(name: String) async throws -> Data
    /// The bytes stored under `name`, in pieces of about `pieceBytes`, so that a large object
    /// is never held whole.
    func pieces(name: String, pieceBytes: Int) -> AsyncThrowingStream<[UInt8], any Error>
    /// Removes what is stored under `name` (no error when it is already gone).
    func remove(name: String) async throws
}

/// An object being written to a `FileStore`.
public protocol FileStoreUpload: Sendable {
    func append(_ bytes: [UInt8]) async throws
    /// Makes the object durable and visible under its name.
    func commit() async throws
    /// Drops what was written (no error when there is nothing).
    func discard() async
}

extension FileStore {
    /// Reads the whole object and hands it out in pieces (for stores that cannot do better).
    public func pieces(name: String, pieceBytes: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let data = try await read(name: name)
                    var offset = 0
                    while offset < data.count {
                        continuation.yield(Array(data[offset..<min(offset + pieceBytes, data.count)]))
                        offset += pieceBytes
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Stores `data` under `name` in one go.
    public func write(_ data: Data, name: String) async throws {
        let upload = try await create(name: name)
        do {
            try await upload.append(Array(data))
            try await upload.commit()
        } catch {
            await upload.discard()
            throw error
        }
    }
}

/// Files in a directory (`<data dir>/files/ab/abcdef….bin`), on the thread pool so that disk
/// I/O never blocks an event loop. An object is written to `….part` (created 0600, exclusive),
/// synced, and renamed into place on commit. Several instances sharing one PostgreSQL database
/// must share this directory too (a network file system).
public struct DirectoryFileStore: FileStore {
    let root: String
    let threadPool: NIOThreadPool

    public init(root: String, threadPool: NIOThreadPool) {
        self.root = root
        self.threadPool = threadPool
    }

    /// The store with a thread pool of its own (two threads), so that writing and syncing
    /// uploads never queues behind SQLite's statements or password hashing (each has its own
    /// pool); the pool stops with the application.
    static func started(root: String, app: Application) -> DirectoryFileStore {
        DirectoryFileStore(root: root, threadPool: .started(threads: 2, app: app))
    }

    func path(_ name: String) -> String {
        let folder = String(name.prefix(2))
        return (root as NSString).appendingPathComponent("\(folder)/\(name).bin")
    }

    public func create(name: String) async throws -> any FileStoreUpload {
        let path = path(name)
        let partial = path + ".part"
        let descriptor = try await threadPool.runIfActive {
            let folder = (path as NSString).deletingLastPathComponent
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let descriptor = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw FileStoreError.system("open", errno) }
            return descriptor
        }
        return DirectoryUpload(descriptor: descriptor, partial: partial, final: path, threadPool: threadPool)
    }

    public func read(name: String) async throws -> Data {
        let path = path(name)
        return try await threadPool.runIfActive { try Data(contentsOf: URL(fileURLWithPath: path)) }
    }

    /// Read on the store's threads, one piece at a time as the consumer asks.
    public func pieces(name: String, pieceBytes: Int) -> AsyncThrowingStream<[UInt8], any Error> {
        let (path, threadPool) = (path(name), threadPool)
        // Closed at the end, or when the stream is dropped (the handle closes itself then).
        let handle = NIOLockedValueBox<FileHandle?>(nil)
        return AsyncThrowingStream(unfolding: {
            try await threadPool.runIfActive {
                try handle.withLockedValue { handle in
                    if handle == nil { handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
                    guard let data = try handle?.read(upToCount: pieceBytes), !data.isEmpty else {
                        try handle?.close()
                        return nil
                    }
                    return [UInt8](data)
                }
            }
        })
    }

    public func remove(name: String) async throws {
        let path = path(name)
        try await threadPool.runIfActive {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        }
    }
}

/// One object on its way into a `DirectoryFileStore`. Written by one task at a time; the
/// descriptor is taken out exactly once, by `commit` or `discard`, so it is never closed twice.
struct DirectoryUpload: FileStoreUpload {
    let descriptor: NIOLockedValueBox<Int32?>
    let partial: String
    let final: String
    let threadPool: NIOThreadPool

    init(descriptor: Int32, partial: String, final: String, threadPool: NIOThreadPool) {
        self.descriptor = NIOLockedValueBox(descriptor)
        self.partial = partial
        self.final = final
        self.threadPool = threadPool
    }

    func append(_ bytes: [UInt8]) async throws {
        guard let descriptor = descriptor.withLockedValue({ $0 }) else { throw FileStoreError.system("write", EBADF) }
        try await threadPool.runIfActive {
            try bytes.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw FileStoreError.system("write", errno)
                    }
                    offset += written
                }
            }
        }
    }

    func commit() async throws {
        guard let descriptor = descriptor.withLockedValue({ value in defer { value = nil }; return value }) else {
            throw FileStoreError.system("close", EBADF)
        }
        let (partial, final) = (partial, final)
        try await threadPool.runIfActive {
            let synced = fsync(descriptor) == 0 ? 0 : errno
            let closed = close(descriptor) == 0 ? 0 : errno
            let failure: FileStoreError? = synced != 0 ? .system("fsync", synced) : closed != 0 ? .system("close", closed)
                : rename(partial, final) != 0 ? .system("rename", errno) : nil
            if let failure {
                _ = unlink(partial)
                throw failure
            }
        }
    }

    func discard() async {
        guard let descriptor = descriptor.withLockedValue({ value in defer { value = nil }; return value }) else { return }
        let partial = partial
        try? await threadPool.runIfActive {
            _ = close(descriptor)
            _ = unlink(partial)
        }
    }
}

/// A failed system call of the file store (the call and `errno`; no path, no content).
public enum FileStoreError: Error, CustomStringConvertible {
    case system(String, Int32)

    public var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
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
    public var sealing: FileSealing = .stream
    /// The key it is sealed under: its owner's (`a…`) or, for files stored before accounts had
    /// keys of their own, the master key's.
    public var keyID: String = ""
}

/// How a stored file's bytes are sealed.
public enum FileSealing: String, Sendable {
    /// One AES-256-GCM box over the whole file (files stored before streaming uploads).
    case whole
    /// `SealedStream`: 64 KiB segments, each its own AES-256-GCM box under a per-file key.
    case stream
}

/// Uploads encrypted at rest, under their owner's file key (`AccountKey`; files from before
/// per-account keys: the master's file subkey), with the file's id bound in (a sealed file
/// moved under another id does not open), the key id stored in the row. New files are sealed
/// as a stream (`SealedStream`) while they arrive, so an upload is never held whole in memory.
/// The bytes go to the `FileStore`, the facts to `stored_files`.
struct SealedFiles: Sendable {
    /// Recognises an upload by its content within a size limit (and, when asked, a minimum
    /// picture size), or refuses it naming the `file` field. Its size and its first megabyte
    /// are what is judged.
    static func check(_ file: ReceivedFile, maxBytes: Int, minimumShortSide: Int = 300) throws -> SniffedFile {
        do throws(FileProblem) {
            guard file.size > 0 else { throw .empty }
            guard file.size <= maxBytes else { throw .tooLarge }
            guard let sniffed = try FileSniffer.sniff(file.head) else { throw .unsupportedType }
            if let width = sniffed.width, let height = sniffed.height, min(width, height) < minimumShortSide { throw .tooSmall }
            return sniffed
        } catch {
            throw problem(error)
        }
    }

    /// A refused file, named at the `file` field.
    static func problem(_ problem: FileProblem) -> UserFacingError {
        UserFacingError(code: problem.rawValue, kind: .invalidInput, message: problem.message, fields: ["file": problem.rawValue])
    }

    let store: any FileStore
    let masters: MasterKeys
    let accountKeys: AccountKeys
    let random: any RandomSource

    static func context(_ id: UUID) -> Data { Data("file.\(id.lowercasedText)".utf8) }

    /// Starts sealing a new file of `owner` under `id` as its bytes arrive; `finish()` makes it
    /// durable. The caller then records the row with `record(…)` in its transaction, or removes
    /// the file when it refuses the upload.
    func writer(id: UUID, owner: UUID) async throws -> SealedStream.Writer {
        let key = try await accountKeys.key(for: owner)
        let upload = try await store.create(name: id.lowercasedText)
        return SealedStream.Writer(upload: upload, key: key.fileKey, context: Self.context(id), salt: random.bytes(32))
    }

    /// Seals and writes bytes held in memory (a copy of a stored file), as a stream like any upload.
    func write(_ data: Data, id: UUID, owner: UUID) async throws {
        let writer = try await writer(id: id, owner: owner)
        do {
            try await writer.append(Array(data))
            try await writer.finish()
        } catch {
            await writer.discard()
            throw error
        }
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
        record.keyID = AccountKey.keyID(of: owner)
        record.sealing = FileSealing.stream.rawValue
        record.createdAt = now
        try await record.create(on: db)
        return try record.file()
    }

    /// The plaintext bytes of a stored file.
    func read(_ file: StoredFile) async throws -> Data {
        let stored = try await store.read(name: file.id.lowercasedText)
        let ownerKeyID = AccountKey.keyID(of: file.ownerID)
        try await accountKeys.load([file.ownerID])
        let ownerKey = accountKeys.cache.key(ownerKeyID)?.fileKey
        // A file still under the master key may have been re-sealed under its owner's key by a
        // key migration stopped before it updated the row: the owner's key is tried second.
        let keys = file.keyID == ownerKeyID ? [ownerKey] : [(masters.ring(file.keyID) ?? masters.current).key(for: .fileEncryption), ownerKey]
        var failure: any Error = FieldCipherError.unknownKey(file.keyID)
        for case let key? in keys {
            do {
                return try Self.open(stored, sealing: file.sealing, key: key, id: file.id)
            } catch {
                failure = error
            }
        }
        throw failure
    }

    /// The plaintext of a file the account sealed as a stream under its own key (a data
    /// export), read and opened piece by piece.
    func stream(id: UUID, owner: UUID) async throws -> AsyncThrowingStream<[UInt8], any Error> {
        let key = try await accountKeys.key(for: owner)
        return SealedStream.open(store.pieces(name: id.lowercasedText, pieceBytes: 1 << 20), key: key.fileKey, context: Self.context(id))
    }

    private static func open(_ stored: Data, sealing: FileSealing, key: SymmetricKey, id: UUID) throws -> Data {
        switch sealing {
        case .stream:
            return try SealedStream.open(stored, key: key, context: context(id))
        case .whole:
            do {
                return try AES.GCM.open(AES.GCM.SealedBox(combined: stored), using: key, authenticating: context(id))
            } catch {
                throw FieldCipherError.authenticationFailed
            }
        }
    }

    func remove(_ id: UUID) async throws {
        try await store.remove(name: id.lowercasedText)
    }

    /// The files attached to these parents, oldest first.
    static func files(of parents: [UUID], purpose: String, on db: any Database) async throws -> [StoredFile] {
        guard !parents.isEmpty else { return [] }
        return try await db.sql().raw("""
            SELECT \(StoredFile.columns) FROM stored_files WHERE parent_id IN (\(binds: parents)) AND purpose = \(bind: purpose) ORDER BY created_at, id
            """).all().map { try StoredFile(row: $0) }
    }
}
