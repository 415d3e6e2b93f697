import Crypto
import Foundation

/// A file sealed in segments, so that it can be written while it arrives and never held whole
/// (the online-AEAD "STREAM" construction of Hoang, Reyhanitabar, Rogaway and Vizár, in the
/// shape Tink's streaming AEAD uses):
///
///     "SHS1" ‖ salt (32) ‖ segment₀ ‖ … ‖ segmentₙ      segmentᵢ = AES-256-GCM(plaintext ≤ 64 KiB) ‖ tag (16)
///
/// Each file has its own key, HKDF-SHA256(file subkey, salt, the file's id), so the nonces can
/// be the segment counter: 7 zero bytes ‖ counter (4, big-endian) ‖ 1 on the last segment else 0.
/// The header is every segment's associated data. Reordered, dropped, repeated or truncated
/// segments, a file under another id, and a changed header all fail to open.
enum SealedStream {
    static let magic = Array("SHS1".utf8)
    static let saltBytes = 32
    static let segmentBytes = 64 * 1024
    static let tagBytes = 16
    static var headerBytes: Int { magic.count + saltBytes }

    static func fileKey(_ key: SymmetricKey, salt: [UInt8], context: Data) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, salt: salt, info: Data("shiming.file.stream1.".utf8) + context, outputByteCount: 32)
    }

    static func nonce(_ index: UInt32, last: Bool) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: index.bigEndian) { bytes.replaceSubrange(7..<11, with: $0) }
        bytes[11] = last ? 1 : 0
        return try AES.GCM.Nonce(data: bytes)
    }

    /// Seals bytes as they come and hands each finished segment to the store. Used by one task.
    final class Writer {
        private let upload: any FileStoreUpload
        private let key: SymmetricKey
        private let header: [UInt8]
        private var pending: [UInt8] = []
        /// Sealed segments not yet handed to the store: it gets about a megabyte at a time.
        private var sealed: [UInt8] = []
        private static let batchBytes = 1 << 20
        private var index: UInt32 = 0
        private var headerWritten = false
        /// Plaintext bytes taken so far.
        private(set) var size = 0

        init(upload: any FileStoreUpload, key: SymmetricKey, context: Data, salt: [UInt8]) {
            precondition(salt.count == SealedStream.saltBytes)
            self.upload = upload
            self.header = SealedStream.magic + salt
            self.key = SealedStream.fileKey(key, salt: salt, context: context)
            pending.reserveCapacity(SealedStream.segmentBytes)
        }

        /// Takes the next bytes; full segments are sealed and written (one is always kept
        /// back, as it may turn out to be the last).
        func append(_ bytes: some Collection<UInt8>) async throws {
            size += bytes.count
            var rest = bytes[...]
            while !rest.isEmpty {
                if pending.count == SealedStream.segmentBytes { try await flush(last: false) }
                let take = rest.prefix(SealedStream.segmentBytes - pending.count)
                pending.append(contentsOf: take)
                rest = rest.dropFirst(take.count)
            }
        }

        /// Seals the last segment and makes the file durable in the store.
        func finish() async throws {
            try await flush(last: true)
            try await upload.append(sealed)
            sealed = []
            try await upload.commit()
        }

        /// Drops everything written so far.
        func discard() async {
            await upload.discard()
        }

        private func flush(last: Bool) async throws {
            let box = try AES.GCM.seal(pending, using: key, nonce: try SealedStream.nonce(index, last: last), authenticating: header)
            if !headerWritten { sealed.append(contentsOf: header) }
            headerWritten = true
            sealed.append(contentsOf: box.ciphertext)
            sealed.append(contentsOf: box.tag)
            pending.removeAll(keepingCapacity: true)
            if !last, sealed.count >= Self.batchBytes {
                try await upload.append(sealed)
                sealed.removeAll(keepingCapacity: true)
            }
            guard index < UInt32.max else { throw FieldCipherError.malformed }
            index += 1
        }
    }

    /// The plaintext of a sealed stream as it is read, segment by segment (one segment held at
    /// a time); the stream fails with `authenticationFailed` at the first segment that does
    /// not open, and a stream cut short fails at its end.
    static func open(_ pieces: AsyncThrowingStream<[UInt8], any Error>, key: SymmetricKey, context: Data) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let sealedSegment = segmentBytes + tagBytes
                    var buffer: [UInt8] = []
                    var header: [UInt8]?
                    var fileKey: SymmetricKey?
                    var index: UInt32 = 0
                    func openSegment(_ bytes: ArraySlice<UInt8>, last: Bool) throws -> [UInt8] {
                        guard let fileKey, let header else { throw FieldCipherError.authenticationFailed }
                        return Array(try SealedStream.openSegment(bytes, index: index, last: last, key: fileKey, header: header))
                    }
                    // Bytes before `start` are done with; they are dropped once per piece, not per segment.
                    var start = 0
                    for try await piece in pieces {
                        buffer.removeFirst(start)
                        start = 0
                        buffer.append(contentsOf: piece)
                        if header == nil, buffer.count >= headerBytes {
                            guard Array(buffer[0..<magic.count]) == magic else { throw FieldCipherError.malformed }
                            header = Array(buffer[0..<headerBytes])
                            fileKey = Self.fileKey(key, salt: Array(buffer[magic.count..<headerBytes]), context: context)
                            start = headerBytes
                        }
                        // A full segment followed by more bytes is not the last one.
                        while header != nil, buffer.count - start > sealedSegment {
                            continuation.yield(try openSegment(buffer[start..<start + sealedSegment], last: false))
                            start += sealedSegment
                            index += 1
                        }
                    }
                    guard header != nil else { throw FieldCipherError.malformed }
                    continuation.yield(try openSegment(buffer[start...], last: true))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The plaintext of a sealed stream, or `authenticationFailed`.
    static func open(_ sealed: Data, key: SymmetricKey, context: Data) throws -> Data {
        let bytes = [UInt8](sealed)
        guard bytes.count >= headerBytes + tagBytes, Array(bytes[0..<magic.count]) == magic else { throw FieldCipherError.malformed }
        let header = Array(bytes[0..<headerBytes])
        let fileKey = fileKey(key, salt: Array(header[magic.count...]), context: context)
        var plaintext = Data()
        plaintext.reserveCapacity(bytes.count - headerBytes)
        var offset = headerBytes
        var index: UInt32 = 0
        while true {
            let remaining = bytes.count - offset
            let last = remaining <= segmentBytes + tagBytes
            let length = last ? remaining : segmentBytes + tagBytes
            plaintext.append(try openSegment(bytes[offset..<offset + length], index: index, last: last, key: fileKey, header: header))
            offset += length
            if last { return plaintext }
            index += 1
        }
    }

    /// One sealed segment (ciphertext ‖ tag) opened, or `authenticationFailed`.
    static func openSegment(_ bytes: ArraySlice<UInt8>, index: UInt32, last: Bool, key fileKey: SymmetricKey, header: [UInt8]) throws -> Data {
        guard bytes.count >= tagBytes else { throw FieldCipherError.authenticationFailed }
        do {
            let box = try AES.GCM.SealedBox(nonce: try nonce(index, last: last), ciphertext: bytes.dropLast(tagBytes), tag: bytes.suffix(tagBytes))
            return try AES.GCM.open(box, using: fileKey, authenticating: header)
        } catch {
            throw FieldCipherError.authenticationFailed
        }
    }
}
