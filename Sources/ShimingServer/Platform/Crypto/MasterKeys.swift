import Crypto
import Foundation
import NIOConcurrencyHelpers

/// What a key file (or `SHIMING_ENCRYPTION_KEY`) holds: the master key's versions, newest
/// (current) first; the keys that must never change, pinned; and the field keys of retired
/// versions. A file of one bare base64 line — every deployment before rotation — is one master
/// version from which everything is derived.
///
///     master <base64>                 current: seals what belongs to no one person, wraps account keys
///     master <base64>                 an older version, still used until `keys retire`
///     pinned audit-chain <base64>     the audit chain's HMAC key (so the chain and its checkpoints keep verifying)
///     pinned pairwise-subject <…>     the platforms' subject ids stay the same
///     pinned secret-hashing <…>       sessions, API keys and codes stay valid
///     pinned blind-index <…>          lookups by phone, e-mail and number keep finding
///     previous blind-index <…>        while `keys reindex` runs: the index key stored rows may still use
///     retired <key id> <base64>       a retired version's field key: opens what audit events sealed under it
struct KeyFile: Equatable, Sendable {
    var masters: [SymmetricKey]
    var pinned: [KeyPurpose: SymmetricKey]
    var retired: [String: SymmetricKey]
    /// The blind-index key being replaced while a re-index runs (`keys reindex`).
    var previousIndex: SymmetricKey?

    /// The purposes whose keys stay when the master key changes.
    static let pinnedPurposes: [KeyPurpose] = [.auditChain, .pairwiseSubject, .secretHashing, .blindIndex]
    static func name(_ purpose: KeyPurpose) -> String {
        switch purpose {
        case .auditChain: "audit-chain"
        case .pairwiseSubject: "pairwise-subject"
        case .secretHashing: "secret-hashing"
        case .blindIndex: "blind-index"
        case .fieldEncryption: "field-encryption"
        case .fileEncryption: "file-encryption"
        case .keyWrapping: "key-wrapping"
        }
    }

    static func == (a: KeyFile, b: KeyFile) -> Bool { a.text() == b.text() }

    /// Reads the text; `origin` names it in errors (never a key).
    static func parse(_ text: String, origin: String) throws -> KeyFile {
        var file = KeyFile(masters: [], pinned: [:], retired: [:], previousIndex: nil)
        // Lines of a file; `SHIMING_ENCRYPTION_KEY` may list versions separated by commas.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().flatMap { number, line in
            line.hasPrefix("#") ? [] : line.split(separator: ",").map { (number, $0) }
        }
        for (number, raw) in lines {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            func key(_ text: String) throws -> SymmetricKey {
                guard let data = Data(base64Encoded: text), data.count == 32 else {
                    throw ConfigurationError(variable: origin, problem: "line \(number + 1): a key must be base64 of exactly 32 random bytes; make one with `openssl rand -base64 32`")
                }
                return SymmetricKey(data: data)
            }
            switch (words.first, words.count) {
            case (_, 1): file.masters.append(try key(words[0]))
            case ("master", 2): file.masters.append(try key(words[1]))
            case ("pinned", 3):
                guard let purpose = pinnedPurposes.first(where: { name($0) == words[1] }) else {
                    throw ConfigurationError(variable: origin, problem: "line \(number + 1): unknown pinned key \"\(words[1])\"")
                }
                file.pinned[purpose] = try key(words[2])
            case ("retired", 3): file.retired[words[1]] = try key(words[2])
            case ("previous", 3) where words[1] == name(.blindIndex): file.previousIndex = try key(words[2])
            default:
                throw ConfigurationError(variable: origin, problem: "line \(number + 1): expected a base64 key, `master <key>`, `pinned <purpose> <key>`, `previous blind-index <key>` or `retired <id> <key>`")
            }
        }
        guard let oldest = file.masters.last else {
            throw ConfigurationError(variable: origin, problem: "holds no master key; make one with `openssl rand -base64 32`")
        }
        // Before the first rotation nothing is pinned: those keys come from the first master key.
        let original = KeyRing(masterKey: oldest)
        for purpose in pinnedPurposes where file.pinned[purpose] == nil { file.pinned[purpose] = original.key(for: purpose) }
        return file
    }

    /// The text `keys rotate` and `keys retire` write.
    func text() -> String {
        func encoded(_ key: SymmetricKey) -> String { key.withUnsafeBytes { Data($0).base64EncodedString() } }
        var lines = ["# Shiming encryption keys (docs/privacy.md#keys). The first master key is the current one.",
                     "# Keep this file secret, mode 0600, and back it up apart from the data."]
        lines += masters.map { "master " + encoded($0) }
        lines += Self.pinnedPurposes.compactMap { purpose in pinned[purpose].map { "pinned \(Self.name(purpose)) " + encoded($0) } }
        if let previousIndex { lines.append("previous \(Self.name(.blindIndex)) " + encoded(previousIndex)) }
        lines += retired.keys.sorted().map { "retired \($0) " + encoded(retired[$0]!) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The key ring of each master version, current first.
    var rings: [KeyRing] { masters.map { KeyRing(masterKey: $0, pinned: pinned) } }
}

/// The master key versions this process knows, re-read from the key file when it changes (a
/// `keys rotate` or `keys retire` run while the server runs): at most once a second when a
/// value names a version it does not know, and once a second for the current version.
final class MasterKeys: Sendable {
    private struct State {
        var file: KeyFile
        var rings: [KeyRing]
        var modified: Date?
        var checkedAt: TimeInterval = 0
    }

    private let state: NIOLockedValueBox<State>
    /// The key file, when the keys come from one (inline keys cannot change while running).
    let path: String?

    init(_ file: KeyFile, path: String?) {
        self.path = path
        state = NIOLockedValueBox(State(file: file, rings: file.rings, modified: path.flatMap(Self.modified)))
    }

    /// Keys for tests and tools that have one ring and no file.
    convenience init(ring masterKey: SymmetricKey) {
        self.init(KeyFile(masters: [masterKey], pinned: [:], retired: [:], previousIndex: nil), path: nil)
    }

    private static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// Re-reads the file if it changed, at most once a second (`force`: whenever it changed).
    private func refresh(force: Bool) {
        guard let path else { return }
        let now = ProcessInfo.processInfo.systemUptime
        let due = state.withLockedValue { state -> Bool in
            guard force || now - state.checkedAt >= 1 else { return false }
            state.checkedAt = now
            return true
        }
        guard due, let modified = Self.modified(path), modified != state.withLockedValue({ $0.modified }),
              let text = try? String(contentsOfFile: path, encoding: .utf8), let file = try? KeyFile.parse(text, origin: path) else { return }
        state.withLockedValue { $0 = State(file: file, rings: file.rings, modified: modified, checkedAt: now) }
    }

    /// The current version: what new values are sealed and new keys wrapped under.
    var current: KeyRing {
        refresh(force: false)
        return state.withLockedValue { $0.rings[0] }
    }

    /// The blind-index keys: the pinned one, and the previous one while a re-index runs (the
    /// file is re-read at most once a second, as for `current`).
    var indexKeys: BlindIndex.IndexKeys {
        refresh(force: false)
        return state.withLockedValue { state in
            BlindIndex.IndexKeys(current: state.rings[0].key(for: .blindIndex), previous: state.file.previousIndex)
        }
    }

    /// Every version, current first.
    var all: [KeyRing] { state.withLockedValue { $0.rings } }

    /// What the key file holds now.
    var file: KeyFile { state.withLockedValue { $0.file } }

    /// The version with this id (the file is re-read once when it is unknown).
    func ring(_ keyID: String) -> KeyRing? {
        if let ring = state.withLockedValue({ $0.rings.first { $0.keyID == keyID } }) { return ring }
        guard keyID.count == 8 else { return nil }
        refresh(force: true)
        return state.withLockedValue { $0.rings.first { $0.keyID == keyID } }
    }

    /// The field key that opens values sealed under this version, current, older or retired.
    func fieldKey(_ keyID: String) -> SymmetricKey? {
        if let ring = ring(keyID) { return ring.key(for: .fieldEncryption) }
        return state.withLockedValue { $0.file.retired[keyID] }
    }

    /// Changes the key file at `path` (`keys rotate`, `retire`, `reindex`): the changed file
    /// replaces it in one rename (mode 0600) and is taken at once.
    func rewrite(_ path: String, _ change: (inout KeyFile) -> Void) throws {
        var file = self.file
        change(&file)
        try MasterKey.replace(path, with: file)
        adopt(file)
    }

    /// Takes a file just written by this process.
    private func adopt(_ file: KeyFile) {
        state.withLockedValue { $0 = State(file: file, rings: file.rings, modified: path.flatMap(Self.modified)) }
    }
}
