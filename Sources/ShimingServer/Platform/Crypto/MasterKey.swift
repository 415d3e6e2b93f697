import Crypto
import Foundation
import Logging
import ShimingCore

/// Loads the master encryption key from where the configuration says, creating it in the data
/// directory on the first start of an SQLite deployment.
enum MasterKey {
    /// Reads (or first creates) the master key.
    static func load(
        _ source: ShimingConfiguration.KeySource,
        random: any RandomSource,
        logger: Logger
    ) throws -> SymmetricKey {
        switch source {
        case .inline(let text):
            return try decode(text, origin: "SHIMING_ENCRYPTION_KEY")
        case .file(let path):
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(variable: "SHIMING_ENCRYPTION_KEY_FILE", problem: "cannot read \(path)")
            }
            return try decode(text, origin: "SHIMING_ENCRYPTION_KEY_FILE (\(path))")
        case .dataDirectory(let path):
            if FileManager.default.fileExists(atPath: path) {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "cannot read the key file \(path)")
                }
                return try decode(text, origin: path)
            }
            let bytes = random.bytes(32)
            let encoded = Data(bytes).base64EncodedString() + "\n"
            // Create with 0600 from the start so the key is never readable by others, even briefly.
            let created = FileManager.default.createFile(
                atPath: path,
                contents: Data(encoded.utf8),
                attributes: [.posixPermissions: 0o600]
            )
            guard created else {
                throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "cannot write the new key file \(path)")
            }
            logger.notice(
                "Generated a new encryption key in \(path) (mode 0600). Back it up: without it the encrypted data cannot be read."
            )
            return SymmetricKey(data: bytes)
        }
    }

    private static func decode(_ text: String, origin: String) throws -> SymmetricKey {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed), data.count == 32 else {
            throw ConfigurationError(
                variable: origin,
                problem: "must hold base64 of exactly 32 random bytes; make one with `openssl rand -base64 32`"
            )
        }
        return SymmetricKey(data: data)
    }
}
