import Foundation
import ShimingCore
import Yams

/// A program file that cannot be used: which file, which line, which field, and why.
public struct ProgramFileError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var field: String
    public var problem: String

    public var description: String {
        "\(file):\(line.map(String.init) ?? "?"): \(field): \(problem)"
    }
}

/// The programs a deployment offers: the built-in presets, replaced or extended by the YAML
/// files in `<data dir>/programs/`.
public struct ProgramCatalog: Sendable {
    public let programs: [Program]
    /// Where each program came from (`preset` or a file path).
    public let sources: [String: String]

    public subscript(key: String) -> Program? { programs.first { $0.key == key } }

    /// The presets and every `*.yaml`/`*.yml` file in `directory` (if it exists). A file whose
    /// key equals a preset's replaces the preset. Any invalid file stops the start.
    public static func load(directory: String?) throws -> ProgramCatalog {
        var programs: [Program] = []
        var sources: [String: String] = [:]
        for (name, yaml) in ProgramPresets.files {
            let program = try ProgramLoader.parse(yaml: yaml, file: "preset:\(name)")
            programs.append(program)
            sources[program.key] = "preset"
        }
        if let directory, FileManager.default.fileExists(atPath: directory) {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
            var fromFiles: [String: String] = [:]
            for name in names {
                let path = (directory as NSString).appendingPathComponent(name)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ProgramFileError(file: path, line: nil, field: "(file)", problem: "cannot be read as UTF-8 text")
                }
                let program = try ProgramLoader.parse(yaml: text, file: path)
                if let earlier = fromFiles[program.key] {
                    throw ProgramFileError(file: path, line: nil, field: "key", problem: "'\(program.key)' is also defined in \(earlier)")
                }
                fromFiles[program.key] = path
                if let index = programs.firstIndex(where: { $0.key == program.key }) {
                    programs[index] = program
                } else {
                    programs.append(program)
                }
                sources[program.key] = path
            }
        }
        return ProgramCatalog(programs: programs, sources: sources)
    }
}

/// Reads one program from YAML, checking every field's type and allowed values, refusing
/// unknown fields (a typo must not be silently ignored), and reporting the line of the problem.
enum ProgramLoader {
    /// The YAML document's root node; an empty file or a syntax error names the file and line.
    static func compose(yaml: String, file: String) throws -> Node {
        do {
            guard let composed = try Yams.compose(yaml: yaml) else {
                throw ProgramFileError(file: file, line: 1, field: "(file)", problem: "is empty")
            }
            return composed
        } catch let error as ProgramFileError {
            throw error
        } catch let error as YamlError {
            throw ProgramFileError(file: file, line: Self.line(of: error), field: "(syntax)", problem: "is not valid YAML: \(error)")
        }
    }

    static func parse(yaml: String, file: String) throws -> Program {
        let root = try compose(yaml: yaml, file: file)
        let reader = Reader(file: file)
        let top = try reader.mapping(root, "(top level)", allowed: [
            "key", "title", "description", "subject", "identity", "sections", "documents", "registry", "checks", "review",
            "confirmation", "reverificationMonths", "reverificationReminderDays", "applicationLimit", "guardianConsentUnderAge", "issuesIdentityCode",
            "retention",
        ], required: ["key", "title", "identity"])

        var program = Program(
            key: try reader.string(top["key"]!, "key"),
            title: try reader.text(top["title"]!, "title"),
            description: try top["description"].map { try reader.text($0, "description") } ?? LocalizedText("", ""),
            identity: Program.Identity(documentTypes: [])
        )
        if let node = top["subject"] { program.subject = try reader.choice(node, "subject") }
        let identity = try reader.mapping(top["identity"]!, "identity", allowed: ["documentTypes", "gender"], required: ["documentTypes"])
        program.identity.documentTypes = try reader.list(identity["documentTypes"]!, "identity.documentTypes") { try reader.choice($0, $1) }
        if let node = identity["gender"] { program.identity.gender = try reader.choice(node, "identity.gender") }
        if let node = top["sections"] { program.sections = try reader.list(node, "sections") { try reader.choice($0, $1) } }
        if let node = top["documents"] {
            program.documents = try reader.list(node, "documents") { item, path in
                let fields = try reader.mapping(item, path, allowed: ["kind", "required", "maxBytes", "formats", "minimumShortSide"], required: ["kind"])
                var rule = Program.DocumentRule(kind: try reader.choice(fields["kind"]!, "\(path).kind"), required: true)
                if let node = fields["required"] { rule.required = try reader.bool(node, "\(path).required") }
                if let node = fields["maxBytes"] { rule.maxBytes = try reader.int(node, "\(path).maxBytes") }
                if let node = fields["formats"] { rule.formats = try reader.list(node, "\(path).formats") { try reader.choice($0, $1) } }
                if let node = fields["minimumShortSide"] { rule.minimumShortSide = try reader.int(node, "\(path).minimumShortSide") }
                return rule
            }
        }
        if let node = top["registry"] {
            let fields = try reader.mapping(node, "registry", allowed: ["source", "match", "lookupsPerNumberPerDay"], required: ["source"])
            program.registry.source = try reader.choice(fields["source"]!, "registry.source")
            if let node = fields["lookupsPerNumberPerDay"] {
                let value = try reader.int(node, "registry.lookupsPerNumberPerDay")
                guard (1...1000).contains(value) else { throw reader.fail(node, "registry.lookupsPerNumberPerDay", "must be between 1 and 1000") }
                program.registry.lookupsPerNumberPerDay = value
            }
            if let node = fields["match"] { program.registry.match = try reader.list(node, "registry.match") { try reader.choice($0, $1) } }
        }
        if let node = top["checks"] {
            program.checks = try reader.list(node, "checks") { try reader.choice($0, $1) }
        } else {
            // Every check that applies: the registry match only where there is a registry.
            program.checks = Program.Check.allCases.filter { $0 != .registry || program.registry.source != .none }
        }
        if let node = top["review"] {
            let fields = try reader.mapping(node, "review", allowed: ["routing", "mode", "dueHours", "assignment"], required: [])
            if let node = fields["routing"] { program.review.routing = try reader.choice(node, "review.routing") }
            if let node = fields["mode"] { program.review.mode = try reader.choice(node, "review.mode") }
            if let node = fields["dueHours"] { program.review.dueHours = try reader.int(node, "review.dueHours") }
            if let node = fields["assignment"] { program.review.assignment = try reader.choice(node, "review.assignment") }
        }
        if let node = top["confirmation"], node.null == nil {
            let fields = try reader.mapping(node, "confirmation", allowed: ["minutes", "maxAttempts"], required: [])
            var confirmation = Program.Confirmation()
            if let node = fields["minutes"] { confirmation.minutes = try reader.int(node, "confirmation.minutes") }
            if let node = fields["maxAttempts"] { confirmation.maxAttempts = try reader.int(node, "confirmation.maxAttempts") }
            program.confirmation = confirmation
        }
        if let node = top["retention"] {
            let fields = try reader.mapping(node, "retention", allowed: ["documents", "afterRejection", "caseData"], required: [])
            func days(_ key: String) throws -> Int? {
                guard let node = fields[key] else { return nil }
                guard let days = Program.Retention.days(node.string ?? "") else {
                    throw reader.fail(node, "retention.\(key)", "must be a duration such as 180d, 6m or 3y")
                }
                return days
            }
            program.retention = Program.Retention(documents: try days("documents") ?? 180, afterRejection: try days("afterRejection") ?? 90,
                                                  caseData: try days("caseData") ?? 3 * 365)
        }
        if let node = top["reverificationMonths"], node.null == nil {
            program.reverificationMonths = try reader.int(node, "reverificationMonths")
        }
        if let node = top["reverificationReminderDays"] {
            program.reverificationReminderDays = try reader.int(node, "reverificationReminderDays")
        }
        if let node = top["applicationLimit"] {
            let fields = try reader.mapping(node, "applicationLimit", allowed: ["count", "days"], required: ["count", "days"])
            program.applicationLimit = .init(count: try reader.int(fields["count"]!, "applicationLimit.count"),
                                             days: try reader.int(fields["days"]!, "applicationLimit.days"))
        }
        if let node = top["guardianConsentUnderAge"] { program.guardianConsentUnderAge = try reader.int(node, "guardianConsentUnderAge") }
        if let node = top["issuesIdentityCode"] { program.issuesIdentityCode = try reader.bool(node, "issuesIdentityCode") }

        // Rules between fields, reported at the line of the field they name (or its parent).
        if let (field, message) = program.problems().first {
            throw ProgramFileError(file: file, line: reader.line(in: root, path: field), field: field, problem: message)
        }
        return program
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: nil
        }
    }

    /// Typed access to YAML nodes, with errors that name the field and its line.
    struct Reader {
        let file: String

        func fail(_ node: Node?, _ field: String, _ problem: String) -> ProgramFileError {
            ProgramFileError(file: file, line: node?.mark?.line, field: field, problem: problem)
        }

        func mapping(_ node: Node, _ path: String, allowed: Set<String>, required: [String]) throws -> [String: Node] {
            guard let mapping = node.mapping else { throw fail(node, path, "must be a mapping of fields") }
            var fields: [String: Node] = [:]
            for (key, value) in mapping {
                guard let name = key.string else { throw fail(key, path, "has a field name that is not text") }
                let field = path == "(top level)" ? name : "\(path).\(name)"
                guard allowed.contains(name) else {
                    throw fail(key, field, "is not a known field (known: \(allowed.sorted().joined(separator: ", ")))")
                }
                guard fields[name] == nil else { throw fail(key, field, "appears twice") }
                fields[name] = value
            }
            for name in required where fields[name] == nil {
                throw fail(node, path == "(top level)" ? name : "\(path).\(name)", "is required")
            }
            return fields
        }

        func string(_ node: Node, _ path: String) throws -> String {
            guard case .scalar = node, let text = node.string?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
                throw fail(node, path, "must be a non-empty text")
            }
            return text
        }

        /// `{zh-CN: …, en: …}` or one text for both.
        func text(_ node: Node, _ path: String) throws -> LocalizedText {
            if case .scalar = node { let text = try string(node, path); return LocalizedText(text, text) }
            let fields = try mapping(node, path, allowed: ["zh-CN", "en"], required: ["zh-CN", "en"])
            return LocalizedText(try string(fields["zh-CN"]!, "\(path).zh-CN"), try string(fields["en"]!, "\(path).en"))
        }

        func int(_ node: Node, _ path: String) throws -> Int {
            guard case .scalar = node, let value = node.int else { throw fail(node, path, "must be a whole number") }
            return value
        }

        func bool(_ node: Node, _ path: String) throws -> Bool {
            guard case .scalar = node, let value = node.bool else { throw fail(node, path, "must be true or false") }
            return value
        }

        func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String) throws -> T where T.RawValue == String {
            let value = try string(node, path)
            guard let choice = T(rawValue: value) else {
                throw fail(node, path, "'\(value)' is not one of: \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return choice
        }

        func list<T>(_ node: Node, _ path: String, _ element: (Node, String) throws -> T) throws -> [T] {
            guard let sequence = node.sequence else { throw fail(node, path, "must be a list") }
            return try sequence.enumerated().map { index, item in try element(item, "\(path)[\(index)]") }
        }

        /// The line of `path` (e.g. `review.dueHours`, `documents[1].maxBytes`), or of the
        /// nearest parent present in the file.
        func line(in root: Node, path: String) -> Int? {
            var node = root
            var line = root.mark?.line
            for part in path.split(separator: ".") {
                var name = String(part)
                var index: Int?
                if let open = name.firstIndex(of: "["), let close = name.firstIndex(of: "]") {
                    index = Int(name[name.index(after: open)..<close])
                    name = String(name[..<open])
                }
                guard let next = node[name] else { return line }
                node = next
                line = next.mark?.line ?? line
                if let index, let items = node.sequence, index < items.count {
                    node = items[items.index(items.startIndex, offsetBy: index)]
                    line = node.mark?.line ?? line
                }
            }
            return line
        }
    }
}
