import Crypto
import Foundation
import NIOConcurrencyHelpers
import ShimingCore

/// The texts a person consents to. `terms` and `privacy` are accepted to hold an account; the
/// separate consent to the processing of sensitive personal information (identity numbers,
/// document photos, a minor's data: PIPL art. 29) is asked before the first application and may
/// be withdrawn, which stops the processing of the person's open applications.
enum ConsentKind: String, Sendable, Codable, CaseIterable {
    case terms
    case privacy
    case sensitive

    /// Whether an applicant must hold the current version to use their account at all.
    var requiredForAccount: Bool { self != .sensitive }

    /// The page the text is shown on.
    var path: String {
        switch self {
        case .terms: "/terms"
        case .privacy: "/privacy"
        case .sensitive: "/sensitive-data"
        }
    }
}

/// One version of a consent text, in both languages, with the hash acceptances record.
struct ConsentText: Sendable, Equatable {
    var kind: ConsentKind
    var version: String
    /// SHA-256 (hex) over the kind, the version and both texts: what exactly was accepted.
    var hash: String
    var markdown: [Lang: String]

    /// The first `# ` heading of the text.
    func title(_ lang: Lang) -> String {
        let text = markdown[lang] ?? markdown[.zhCN] ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("# ") { return String(line.dropFirst(2)) }
        return kind.rawValue
    }
}

/// The consent texts of this deployment: `<data dir>/consents/<kind>.zh-CN.md` and
/// `<kind>.en.md`, each starting with a `version: …` line. Missing files are written from the
/// shipped defaults on start. Editing a file (a new version, or new words) takes effect within a
/// second, without a restart: signed-in applicants are then asked to accept the new text.
final class ConsentCatalog: Sendable {
    let directory: String
    private let state: NIOLockedValueBox<Loaded>

    private struct Loaded: Sendable {
        var texts: [ConsentKind: ConsentText]
        var signature: String
        var checkedAt: TimeInterval
    }

    /// Loads the texts, writing the defaults first where a file is missing.
    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for kind in ConsentKind.allCases {
            for lang in Lang.allCases {
                let path = Self.path(directory, kind, lang)
                guard !FileManager.default.fileExists(atPath: path) else { continue }
                let text = "version: \(ConsentDefaults.version)\n\n" + ConsentDefaults.markdown(kind, lang)
                try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
        }
        let (texts, signature) = try Self.read(directory)
        state = NIOLockedValueBox(Loaded(texts: texts, signature: signature, checkedAt: ProcessInfo.processInfo.systemUptime))
    }

    /// The current text of a kind (re-read when the files changed; a broken edit keeps the last
    /// good texts and is refused at the next start).
    func text(_ kind: ConsentKind) -> ConsentText {
        let now = ProcessInfo.processInfo.systemUptime
        let stale = state.withLockedValue { loaded -> String? in
            guard now - loaded.checkedAt >= 1 else { return nil }
            loaded.checkedAt = now
            return loaded.signature
        }
        if let stale, Self.signature(directory) != stale { try? reload() }
        return state.withLockedValue { $0.texts[kind]! }  // every kind is loaded in init
    }

    /// Reads the files again now.
    func reload() throws {
        let (texts, signature) = try Self.read(directory)
        state.withLockedValue { $0 = Loaded(texts: texts, signature: signature, checkedAt: ProcessInfo.processInfo.systemUptime) }
    }

    /// What an applicant has to accept before going on: a required text whose current version
    /// they have not accepted, and a new version of the sensitive-data consent they hold.
    func pending(_ account: Account) -> [ConsentKind] {
        guard account.kind == .applicant else { return [] }
        return ConsentKind.allCases.filter { kind in
            let held = account.consents[kind]
            if !kind.requiredForAccount && held == nil { return false }
            return held != text(kind).hash
        }
    }

    static func path(_ directory: String, _ kind: ConsentKind, _ lang: Lang) -> String {
        (directory as NSString).appendingPathComponent("\(kind.rawValue).\(lang.rawValue).md")
    }

    private static func signature(_ directory: String) -> String {
        ConsentKind.allCases.flatMap { kind in
            Lang.allCases.map { lang -> String in
                let attributes = try? FileManager.default.attributesOfItem(atPath: path(directory, kind, lang))
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                return "\(modified):\(attributes?[.size] as? Int ?? -1)"
            }
        }.joined(separator: ",")
    }

    private static func read(_ directory: String) throws -> ([ConsentKind: ConsentText], String) {
        let signature = signature(directory)
        var texts: [ConsentKind: ConsentText] = [:]
        for kind in ConsentKind.allCases {
            var version: String?
            var markdown: [Lang: String] = [:]
            for lang in Lang.allCases {
                let path = path(directory, kind, lang)
                guard let raw = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "cannot read the consent text \(path)")
                }
                let (fileVersion, body) = try parse(raw, path: path)
                if let version, version != fileVersion {
                    throw ConfigurationError(variable: "SHIMING_DATA_DIR",
                                             problem: "the consent texts of \(kind.rawValue) carry different versions (\(version), \(fileVersion)); give both languages the same")
                }
                version = fileVersion
                markdown[lang] = body
            }
            let current = version ?? ""
            var hasher = SHA256()
            hasher.update(data: Data("\(kind.rawValue)\n\(current)\n".utf8))
            for lang in Lang.allCases { hasher.update(data: Data((markdown[lang] ?? "").utf8) + Data([0])) }
            texts[kind] = ConsentText(kind: kind, version: current, hash: Hex.encode(hasher.finalize()), markdown: markdown)
        }
        return (texts, signature)
    }

    /// Splits `version: X` (letters, digits, `.`, `-`, `_`; 1–32) from the text after it.
    static func parse(_ raw: String, path: String) throws -> (String, String) {
        var lines = raw.split(separator: "\n", omittingEmptySubsequences: false)
        while let first = lines.first, first.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeFirst() }
        guard let first = lines.first, first.hasPrefix("version:") else {
            throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "\(path) must start with a line `version: …`")
        }
        let version = first.dropFirst("version:".count).trimmingCharacters(in: .whitespaces)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: ".-_"))
        guard (1...32).contains(version.count), version.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
            throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "\(path): the version must be 1–32 letters, digits, `.`, `-` or `_`")
        }
        let body = lines.dropFirst().joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !body.isEmpty else { throw ConfigurationError(variable: "SHIMING_DATA_DIR", problem: "\(path) has no text after its version line") }
        return (version, body + "\n")
    }
}
