import Crypto
import Foundation
import Logging
import ShimingCore
import Testing
@testable import ShimingServer

@Suite("Encryption keys, field encryption and blind indexes")
struct CryptoTests {
    let ring = KeyRing(masterKey: SymmetricKey(data: Data(base64Encoded: testEncryptionKey)!))

    @Test("a sealed value opens in its own context and carries the key id")
    func roundTrip() throws {
        let cipher = FieldCipher(keyRing: ring)
        let sealed = try cipher.seal("110105194912310021", context: "case.document_number")
        #expect(sealed.hasPrefix(ring.keyID + "."))
        #expect(!sealed.contains("110105194912310021"))
        #expect(try cipher.open(sealed, context: "case.document_number") == "110105194912310021")
        let once = try cipher.seal("same", context: "c")
        let twice = try cipher.seal("same", context: "c")
        #expect(once != twice, "fresh nonce each time")
    }

    @Test("a value moved to another column, altered, or sealed under another key does not open")
    func refusals() throws {
        let cipher = FieldCipher(keyRing: ring)
        let sealed = try cipher.seal("13800138000", context: "account.phone")
        #expect(throws: FieldCipherError.authenticationFailed) { try cipher.open(sealed, context: "account.email") }

        var bytes = Array(sealed.utf8)
        let last = bytes.count - 3
        bytes[last] = bytes[last] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        #expect(throws: FieldCipherError.authenticationFailed) {
            try cipher.open(String(decoding: bytes, as: UTF8.self), context: "account.phone")
        }

        let other = FieldCipher(keyRing: KeyRing(masterKey: SymmetricKey(size: .bits256)))
        #expect(throws: FieldCipherError.unknownKey(ring.keyID)) { try other.open(sealed, context: "account.phone") }
        #expect(throws: FieldCipherError.malformed) { try cipher.open("no-dot-here", context: "x") }
    }

    @Test("subkeys differ per purpose and from the master key")
    func subkeys() {
        let keys = KeyPurpose.allCases.map { ring.key(for: $0).withUnsafeBytes { Data($0) } }
        #expect(Set(keys).count == KeyPurpose.allCases.count)
        #expect(!keys.contains(Data(base64Encoded: testEncryptionKey)!))
        #expect(ring.keyID.count == 8)
    }

    @Test("a blind index is stable, keyed and separated by domain")
    func blindIndex() {
        let index = BlindIndex(keyRing: ring)
        let a = index.index("110105194912310021", domain: "resident_id")
        #expect(a == index.index("110105194912310021", domain: "resident_id"))
        #expect(a.stored.count == 64 && a.accepted == [a.stored])
        #expect(a != index.index("110105194912310021", domain: "phone"))
        #expect(a != BlindIndex(keyRing: KeyRing(masterKey: SymmetricKey(size: .bits256))).index("110105194912310021", domain: "resident_id"))
    }

    @Test("the first start writes a 0600 key file into the data dir and later starts reuse it")
    func generatedKey() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        let logger = Logger(label: "test")
        let first = try MasterKey.load(.dataDirectory(path: path), random: SystemRandom(), logger: logger)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let second = try MasterKey.load(.dataDirectory(path: path), random: SystemRandom(), logger: logger)
        #expect(first == second)
        #expect(try MasterKey.load(.file(path: path), random: SystemRandom(), logger: logger) == first)
    }

    @Test("a key that is not base64 of 32 bytes is refused with instructions")
    func badKey() {
        #expect {
            try MasterKey.load(.inline("dG9vIHNob3J0"), random: SystemRandom(), logger: Logger(label: "test"))
        } throws: { error in
            String(describing: error).contains("openssl rand -base64 32")
        }
    }
}
