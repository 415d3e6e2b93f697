import Crypto
import Foundation
import Logging
import ShimingCore

/// Loads the master encryption key from where the configuration says, creating it in the data
/// directory on the first start of an SQLite deployment.
enum MasterKey {
    /// The key file of a source, if the keys come from one (and so can be rotated in place).
    static func path(of source: ShimingConfiguration.KeySource) -> String? {
        switch source {
        case .inline: nil
        case .file(let path), .dataDirectory(let path): path
        }
    }

    /// Reads (or first creates) the master key versions.
    static func load(
        _ source: ShimingConfiguration.KeySource,
        random: any RandomSource,
        logger: Logger
    ) throws -> KeyFile {
        switch source {
        case .inline(let text):
            return try decode(text, origin: "SHIMING_ENCRYPTION_KEY")
        case .file(let path):
            try refuseShared(path, variable: "SHIMING_ENCRYPTION_KEY_FILE")
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationError(variable: "SHIMING_ENCRYPTION_KEY_FILE", problem: "cannot read \(path)")
            }
            return try decode(text, origin: "SHIMING_ENCRYPTION_KEY_FILE (\(path))")
        case .dataDirectory(let path):
            if FileManager.default.fileExists(atPath: path) {
                try refuseShared(path, variable: "SHIMING_DATA_DIR")
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "cannot read the key file \(path)")
                }
                return try decode(text, origin: path)
            }
            let bytes = random.bytes(32)
            let encoded = Data(bytes).base64EncodedString() + "\n"
            guard createPrivately(path, contents: Data(encoded.utf8)) else {
                throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "cannot write the new key file \(path)")
            }
            logger.notice(
                "Generated a new encryption key in \(path) (mode 0600). Back it up: without it the encrypted data cannot be read."
            )
            return try decode(encoded, origin: path)
        }
    }

    /// Creates the file with mode 0600 in the same call that creates it (`O_CREAT|O_EXCL`), so
    /// the key is never readable by others, not even between creating and `chmod`.
    static func createPrivately(_ path: String, contents: Data) -> Bool {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        return written == contents.count && fsync(descriptor) == 0
    }

    /// A key file that the group or others may read is refused: whoever can read it can read
    /// every sealed field and file.
    static func refuseShared(_ path: String, variable: String) throws {
        guard let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int else { return }
        if mode & 0o077 != 0 {
            throw ConfigurationError(variable: variable, problem: "the key file \(path) may be read by others (mode \(String(mode & 0o777, radix: 8))); run `chmod 600 \(path)`")
        }
    }

    private static func decode(_ text: String, origin: String) throws -> KeyFile {
        try KeyFile.parse(text, origin: origin)
    }

    /// Replaces the key file in one step (a new file, 0600, synced, renamed over the old one), so
    /// a reader sees the old or the new file, never half of one.
    static func replace(_ path: String, with file: KeyFile) throws {
        let partial = path + ".new"
        _ = unlink(partial)
        guard createPrivately(partial, contents: Data(file.text().utf8)), rename(partial, path) == 0 else {
            _ = unlink(partial)
            throw ConfigurationError(variable: path, problem: "cannot write the key file (\(String(cString: strerror(errno))))")
        }
    }
}
