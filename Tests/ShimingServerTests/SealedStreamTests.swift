import Crypto
import Foundation
import NIOConcurrencyHelpers
import ShimingCore
import Testing
@testable import ShimingServer

/// A file store in memory, for the format's own tests.
final class MemoryFileStore: FileStore {
    let objects = NIOLockedValueBox<[String: [UInt8]]>([:])

    struct Upload: FileStoreUpload {
        let store: MemoryFileStore
        let name: String
        let pending = NIOLockedValueBox<[UInt8]>([])
        func append(_ bytes: [UInt8]) async throws { pending.withLockedValue { $0 += bytes } }
        func commit() async throws { let bytes = pending.withLockedValue { $0 }; store.objects.withLockedValue { $0[name] = bytes } }
        func discard() async {}
    }

    func create(name: String) async throws -> any FileStoreUpload { Upload(store: self, name: name) }
    func read(name: String) async throws -> Data {
        guard let bytes = objects.withLockedValue({ $0[name] }) else { throw FileStoreError.system("open", ENOENT) }
        return Data(bytes)
    }
    func remove(name: String) async throws { _ = objects.withLockedValue { $0.removeValue(forKey: name) } }
}

@Suite("Sealed streams: files sealed segment by segment while they arrive")
struct SealedStreamTests {
    let key = SymmetricKey(size: .bits256)
    /// The owner of the files, whose key is in the cache (no key store is reached).
    let owner = UUID()

    func sealedFiles(_ store: MemoryFileStore) -> SealedFiles {
        let cache = AccountKeyCache()
        cache.put([AccountKey(accountID: owner, material: SymmetricKey(size: .bits256))])
        let keys = AccountKeys(database: { fatalError("the key is cached") }, gate: WriteGate(serialises: false), cache: cache, masters: MasterKeys(ring: key),
                               random: SystemRandom(), clock: SystemClock())
        return SealedFiles(store: store, masters: keys.masters, accountKeys: keys, random: SystemRandom())
    }

    func sample(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) } }

    func stored(_ id: UUID, size: Int, sealing: FileSealing = .stream) -> StoredFile {
        StoredFile(id: id, ownerID: owner, purpose: "test", parentID: UUID(), kind: nil, format: .pdf, size: size, createdAt: Date(), sealing: sealing,
                   keyID: sealing == .stream ? AccountKey.keyID(of: owner) : "")
    }

    @Test("Any size round-trips, written in pieces of any size, and takes one tag per 64 KiB segment",
          arguments: [1, 1000, 65_535, 65_536, 65_537, 200_000, 3 * 65_536])
    func roundTrip(size: Int) async throws {
        let store = MemoryFileStore()
        let files = sealedFiles(store)
        let id = UUID()
        let bytes = sample(size)
        let writer = try await files.writer(id: id, owner: owner)
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let end = min(bytes.count, offset + piece)
            try await writer.append(bytes[offset..<end])
            offset = end
            piece = piece * 3 + 7
        }
        try await writer.finish()
        let segments = max(1, (size + SealedStream.segmentBytes - 1) / SealedStream.segmentBytes)
        let sealed = try await store.read(name: id.uuidString.lowercased())
        #expect(sealed.count == SealedStream.headerBytes + size + segments * SealedStream.tagBytes)
        #expect(Array(sealed.prefix(4)) == Array("SHS1".utf8))
        #expect(try await files.read(stored(id, size: size)) == Data(bytes))
    }

    @Test("A changed byte, a dropped last segment, swapped segments, a cut at a segment's end and another file's id all fail to open")
    func tampering() async throws {
        let store = MemoryFileStore()
        let files = sealedFiles(store)
        let id = UUID()
        try await files.write(Data(sample(200_000)), id: id, owner: owner)
        let name = id.uuidString.lowercased()
        let sealed = try await store.read(name: name)
        let header = SealedStream.headerBytes
        let segment = SealedStream.segmentBytes + SealedStream.tagBytes

        var flipped = sealed
        flipped[header + 70_000] ^= 1
        var swapped = Data(sealed.prefix(header))
        swapped += sealed[(header + segment)..<(header + 2 * segment)]
        swapped += sealed[header..<(header + segment)]
        swapped += sealed[(header + 2 * segment)...]
        var salted = sealed
        salted[10] ^= 1
        for (what, bytes) in [("flipped", flipped), ("last segment dropped", Data(sealed.prefix(header + 3 * segment))),
                              ("cut after the first segment", Data(sealed.prefix(header + segment))), ("swapped", swapped),
                              ("salt changed", salted)] {
            store.objects.withLockedValue { $0[name] = Array(bytes) }
            await #expect(throws: FieldCipherError.self, "\(what)") { try await files.read(stored(id, size: 200_000)) }
        }
        // Moved under another id.
        let other = UUID()
        store.objects.withLockedValue { $0[other.uuidString.lowercased()] = Array(sealed) }
        await #expect(throws: FieldCipherError.self) { try await files.read(stored(other, size: 200_000)) }
    }

    @Test("Files stored before streaming (one box over the whole file) still open")
    func wholeFiles() async throws {
        let store = MemoryFileStore()
        let files = sealedFiles(store)
        let id = UUID()
        let bytes = Data(sample(5000))
        let box = try AES.GCM.seal(bytes, using: files.masters.current.key(for: .fileEncryption), authenticating: SealedFiles.context(id))
        try await store.write(box.combined!, name: id.uuidString.lowercased())
        #expect(try await files.read(stored(id, size: 5000, sealing: .whole)) == bytes)
        await #expect(throws: FieldCipherError.self) { try await files.read(stored(id, size: 5000, sealing: .stream)) }
    }

    @Test("Read back as a stream, in pieces of any size, the same bytes come out segment by segment; a changed byte or a cut end fails",
          arguments: [(200_000, 7_001), (3 * 65_536, 65_552), (10, 3)])
    func streamedRead(size: Int, piece: Int) async throws {
        let store = MemoryFileStore()
        let files = sealedFiles(store)
        let id = UUID()
        let bytes = sample(size)
        try await files.write(Data(bytes), id: id, owner: owner)
        func read(_ pieces: AsyncThrowingStream<[UInt8], any Error>) async throws -> [UInt8] {
            var out: [UInt8] = []
            for try await part in SealedStream.open(pieces, key: try await files.accountKeys.key(for: owner).fileKey, context: SealedFiles.context(id)) {
                #expect(part.count <= SealedStream.segmentBytes)
                out += part
            }
            return out
        }
        let name = id.uuidString.lowercased()
        #expect(try await read(store.pieces(name: name, pieceBytes: piece)) == bytes)
        var stream: [UInt8] = []
        for try await part in try await files.stream(id: id, owner: owner) { stream += part }
        #expect(stream == bytes)

        let sealed = try await store.read(name: name)
        var flipped = sealed
        flipped[sealed.count - 20] ^= 1
        try await store.write(flipped, name: name)
        await #expect(throws: FieldCipherError.self) { try await read(store.pieces(name: name, pieceBytes: piece)) }
        try await store.write(sealed.prefix(sealed.count - 1), name: name)
        await #expect(throws: FieldCipherError.self) { try await read(store.pieces(name: name, pieceBytes: piece)) }
    }
}
