import Foundation
import Logging
import ShimingCore

/// Everything an operator can set, read from the environment (12-factor). Each field's
/// variable and default is documented in README.md's configuration table.
public struct ShimingConfiguration: Sendable {
    /// Where the relational data lives.
    public enum Database: Sendable, Equatable {
        /// An embedded SQLite file.
        case sqlite(path: String)
        /// A PostgreSQL server, given as a `postgres://` URL.
        case postgres(url: String)
    }

    /// Where the master encryption key comes from.
    public enum KeySource: Sendable, Equatable {
        /// Base64 of 32 bytes, given directly (`SHIMING_ENCRYPTION_KEY`).
        case inline(String)
        /// A file holding the base64 key (`SHIMING_ENCRYPTION_KEY_FILE`).
        case file(path: String)
        /// The data dir's own key file, created on first start (SQLite only).
        case dataDirectory(path: String)
    }

    /// How delivered messages leave the system.
    public enum MessageSinkSetting: Sendable, Equatable {
        /// Append JSON lines to a file (development and tests; see API.md).
        case file(path: String)
    }

    /// Log line format.
    public enum LogFormat: String, Sendable {
        /// Human-readable lines.
        case text
        /// One JSON object per line, for log collectors.
        case json
    }

    /// The data directory (`SHIMING_DATA_DIR`).
    public var dataDirectory: String
    /// The database (`DATABASE_URL`, else an SQLite file in the data dir).
    public var database: Database
    /// The address to listen on (`SHIMING_HOSTNAME`, or `--hostname`).
    public var hostname: String
    /// The port to listen on (`PORT`, or `--port`).
    public var port: Int
    /// Minimum log level (`SHIMING_LOG_LEVEL` or `LOG_LEVEL`).
    public var logLevel: Logger.Level
    /// Log line format (`SHIMING_LOG_FORMAT`).
    public var logFormat: LogFormat
    /// Message delivery (`SHIMING_MESSAGE_SINK`).
    public var messageSink: MessageSinkSetting
    /// Master key source (`SHIMING_ENCRYPTION_KEY`, `SHIMING_ENCRYPTION_KEY_FILE`).
    public var encryptionKey: KeySource
    /// How often the outbox worker looks for due messages (`SHIMING_OUTBOX_POLL_SECONDS`).
    public var outboxPollInterval: Double
    /// The address people reach this deployment at, for links in e-mails (`SHIMING_PUBLIC_URL`).
    public var publicURL: String
    /// bcrypt cost for passwords (`SHIMING_BCRYPT_COST`, default 12).
    public var bcryptCost: Int
    /// E-mail over SMTP (`SHIMING_SMTP_URL`, `SHIMING_MAIL_FROM`); `nil`: e-mail goes to the file sink.
    public var smtp: SMTPSettings? = nil
    /// SMS over an HTTP gateway (`SHIMING_SMS_URL` and friends); `nil`: SMS go to the file sink.
    public var smsGateway: HTTPSMSGateway? = nil
    /// The third-party identity service (`SHIMING_IDENTITY_SERVICE_URL` and friends); `nil`:
    /// programs with `registry.source: service` send every case to review as `registry_unavailable`.
    public var identityService: IdentityServiceSettings? = nil
    /// Minutes a claimed review task may sit untouched before it returns to the queue
    /// (`SHIMING_REVIEW_IDLE_MINUTES`).
    public var reviewIdleMinutes: Int = 30
    /// Seconds between two rounds of the background sweep (`SHIMING_SWEEP_SECONDS`, default 60).
    public var sweepSeconds: Int = 60
    /// A telephone number people can call for help (`SHIMING_HELP_PHONE`), shown on waiting and
    /// error pages; `nil`: no help line is shown.
    public var helpPhone: String? = nil
    /// PostgreSQL connections each event loop (one per core) may open
    /// (`SHIMING_DATABASE_CONNECTIONS`); a request that waits `databasePoolTimeout` for one is answered 503.
    public var databaseConnectionsPerLoop: Int = 4
    /// How long a request waits for a PostgreSQL connection before it is answered 503
    /// (`SHIMING_DATABASE_POOL_TIMEOUT`, seconds).
    public var databasePoolTimeout: Int = 10
    /// Whether webhook URLs may point at loopback or private addresses when the public URL is
    /// https (`SHIMING_WEBHOOK_ALLOW_PRIVATE=1`; tests and closed networks).
    public var webhookAllowPrivate: Bool = false
    /// Calls per minute one platform key may make (`SHIMING_PLATFORM_RATE_LIMIT`).
    public var platformRatePerMinute: Int = 600
    /// A bearer token `/metrics` asks for (`SHIMING_METRICS_TOKEN`); open when unset.
    public var metricsToken: String? = nil
    /// The proxies whose `X-Forwarded-For`/`Forwarded`/`X-Forwarded-Proto` are believed
    /// (`SHIMING_TRUSTED_PROXIES`, CIDR list); none by default.
    public var trustedProxies: [IPNetwork] = []
    /// A second file the signed audit checkpoints are appended to (`SHIMING_AUDIT_CHECKPOINT_COPY`),
    /// e.g. on another disk or a mounted write-once share.
    public var auditCheckpointCopy: String? = nil
    /// What one account may keep in uploaded documents and proofs (`SHIMING_UPLOAD_QUOTA_MB`).
    public var uploadQuotaBytes: Int = 100 * 1024 * 1024
    /// An account whose documents and proofs come to more than this gets its data export
    /// prepared in the background, offered for 24 hours (`SHIMING_EXPORT_INLINE_MB`).
    public var exportInlineBytes: Int = 20 * 1024 * 1024
    /// How long a signed-in session's lookup may be reused, in seconds, unless this instance
    /// writes meanwhile (`SHIMING_SESSION_CACHE_SECONDS`; 0: never).
    public var sessionCacheSeconds: Int = 1

    /// The SQLite file used when no `DATABASE_URL` is given.
    public static func defaultSQLitePath(in dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("shiming.sqlite")
    }

    /// Reads the configuration from environment variables, refusing unusable values with a
    /// message that names the variable and says what is expected.
    public static func fromEnvironment(
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ShimingConfiguration {
        func value(_ name: String) -> String? {
            guard let raw = env[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !raw.isEmpty else { return nil }
            return raw
        }
        /// A whole number within `range`, `fallback` when unset; anything else names the variable.
        func integer(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>, _ what: String) throws -> Int {
            guard let raw = value(name) else { return fallback }
            guard let parsed = Int(raw), range.contains(parsed) else {
                throw ConfigurationError(variable: name, problem: "must be \(what) between \(range.lowerBound) and \(range.upperBound), got \"\(raw)\"")
            }
            return parsed
        }

        let dataDirectory = value("SHIMING_DATA_DIR") ?? "./shiming-data"

        let database: Database
        if let url = value("DATABASE_URL") {
            let lower = url.lowercased()
            if lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
                || lower.hasPrefix("postgres+tcp://") || lower.hasPrefix("postgres+uds://") {
                database = .postgres(url: url)
            } else if lower.hasPrefix("sqlite://") {
                database = .sqlite(path: String(url.dropFirst("sqlite://".count)))
            } else {
                throw ConfigurationError(
                    variable: "DATABASE_URL",
                    problem: "must start with postgres:// (or sqlite:// followed by a file path); leave it unset for the embedded SQLite file"
                )
            }
        } else {
            database = .sqlite(path: defaultSQLitePath(in: dataDirectory))
        }

        let port = try integer("PORT", 8080, 1...65535, "a number")

        var logLevel = Logger.Level.info
        if let raw = value("SHIMING_LOG_LEVEL") ?? value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: raw.lowercased()) else {
                throw ConfigurationError(
                    variable: "SHIMING_LOG_LEVEL",
                    problem: "must be one of trace, debug, info, notice, warning, error, critical; got \"\(raw)\""
                )
            }
            logLevel = parsed
        }

        var logFormat = LogFormat.text
        if let raw = value("SHIMING_LOG_FORMAT") {
            guard let parsed = LogFormat(rawValue: raw.lowercased()) else {
                throw ConfigurationError(variable: "SHIMING_LOG_FORMAT", problem: "must be text or json, got \"\(raw)\"")
            }
            logFormat = parsed
        }

        let messageSink: MessageSinkSetting
        if let raw = value("SHIMING_MESSAGE_SINK") {
            guard raw.hasPrefix("file:"), raw.count > "file:".count else {
                throw ConfigurationError(
                    variable: "SHIMING_MESSAGE_SINK",
                    problem: "must be file:/path/to/messages.jsonl, got \"\(raw)\""
                )
            }
            messageSink = .file(path: String(raw.dropFirst("file:".count)))
        } else {
            messageSink = .file(path: (dataDirectory as NSString).appendingPathComponent("messages.jsonl"))
        }

        let key: KeySource
        switch (value("SHIMING_ENCRYPTION_KEY"), value("SHIMING_ENCRYPTION_KEY_FILE")) {
        case (.some, .some):
            throw ConfigurationError(
                variable: "SHIMING_ENCRYPTION_KEY",
                problem: "set either SHIMING_ENCRYPTION_KEY or SHIMING_ENCRYPTION_KEY_FILE, not both"
            )
        case (.some(let inline), nil):
            key = .inline(inline)
        case (nil, .some(let path)):
            key = .file(path: path)
        case (nil, nil):
            if case .postgres = database {
                throw ConfigurationError(
                    variable: "SHIMING_ENCRYPTION_KEY",
                    problem: """
                    is required with PostgreSQL, so that every instance encrypts with the same key. \
                    Make one with `openssl rand -base64 32` (or `head -c 32 /dev/urandom | base64`), \
                    keep it safe, and set SHIMING_ENCRYPTION_KEY (or SHIMING_ENCRYPTION_KEY_FILE) on every instance
                    """
                )
            }
            key = .dataDirectory(path: (dataDirectory as NSString).appendingPathComponent("encryption.key"))
        }

        var poll = 2.0
        if let raw = value("SHIMING_OUTBOX_POLL_SECONDS") {
            guard let parsed = Double(raw), parsed > 0, parsed <= 3600 else {
                throw ConfigurationError(variable: "SHIMING_OUTBOX_POLL_SECONDS", problem: "must be a number of seconds between 0 and 3600, got \"\(raw)\"")
            }
            poll = parsed
        }

        let reviewIdle = try integer("SHIMING_REVIEW_IDLE_MINUTES", 30, 1...(24 * 60), "whole minutes")
        let sweepSeconds = try integer("SHIMING_SWEEP_SECONDS", 60, 1...3600, "whole seconds")

        var helpPhone: String?
        if let raw = value("SHIMING_HELP_PHONE")?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            guard raw.count <= 30, raw.allSatisfy({ $0.isASCII && ($0.isNumber || " -+()".contains($0)) }), raw.contains(where: \.isNumber) else {
                throw ConfigurationError(variable: "SHIMING_HELP_PHONE", problem: "must be a telephone number (digits, spaces, + - ( ), at most 30 characters), got \"\(raw)\"")
            }
            helpPhone = raw
        }

        let connections = try integer("SHIMING_DATABASE_CONNECTIONS", 4, 1...64, "a number of connections per core")
        let platformRate = try integer("SHIMING_PLATFORM_RATE_LIMIT", 600, 1...100_000, "a number of calls per minute per key")
        let allowPrivate = value("SHIMING_WEBHOOK_ALLOW_PRIVATE")
        guard allowPrivate == nil || ["0", "1"].contains(allowPrivate!) else {
            throw ConfigurationError(variable: "SHIMING_WEBHOOK_ALLOW_PRIVATE", problem: "must be 0 or 1, got \"\(allowPrivate!)\"")
        }

        let metricsToken = value("SHIMING_METRICS_TOKEN").flatMap { $0.isEmpty ? nil : $0 }
        if let metricsToken, metricsToken.count < 16 {
            throw ConfigurationError(variable: "SHIMING_METRICS_TOKEN", problem: "must be at least 16 characters (e.g. `openssl rand -hex 16`)")
        }

        var trustedProxies: [IPNetwork] = []
        if let raw = value("SHIMING_TRUSTED_PROXIES"), !raw.trimmingCharacters(in: .whitespaces).isEmpty {
            for item in raw.split(separator: ",") {
                guard let network = IPNetwork(String(item)) else {
                    throw ConfigurationError(variable: "SHIMING_TRUSTED_PROXIES", problem: "must be a comma-separated list of addresses or CIDR networks (10.0.0.0/8, fd00::/8), got \"\(item)\"")
                }
                trustedProxies.append(network)
            }
        }

        var uploadQuota = 100
        if let raw = value("SHIMING_UPLOAD_QUOTA_MB") {
            guard let parsed = Int(raw), (1...100_000).contains(parsed) else {
                throw ConfigurationError(variable: "SHIMING_UPLOAD_QUOTA_MB", problem: "must be a number of megabytes between 1 and 100000, got \"\(raw)\"")
            }
            uploadQuota = parsed
        }

        var bcryptCost = 12
        if let raw = value("SHIMING_BCRYPT_COST") {
            guard let parsed = Int(raw), (4...31).contains(parsed) else {
                throw ConfigurationError(variable: "SHIMING_BCRYPT_COST", problem: "must be a number between 4 and 31 (12 or more in production), got \"\(raw)\"")
            }
            bcryptCost = parsed
        }
        let hostname = value("SHIMING_HOSTNAME") ?? "127.0.0.1"
        var publicURL = value("SHIMING_PUBLIC_URL") ?? "http://\(hostname == "0.0.0.0" ? "localhost" : hostname):\(port)"
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        guard publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://") else {
            throw ConfigurationError(variable: "SHIMING_PUBLIC_URL", problem: "must start with http:// or https://, got \"\(publicURL)\"")
        }

        var smtp: SMTPSettings?
        if let url = value("SHIMING_SMTP_URL") {
            guard let from = value("SHIMING_MAIL_FROM") else {
                throw ConfigurationError(variable: "SHIMING_MAIL_FROM", problem: "is required with SHIMING_SMTP_URL: the sender address, e.g. noreply@example.com")
            }
            smtp = try SMTPSettings.parse(url: url, from: from, fromName: value("SHIMING_MAIL_FROM_NAME") ?? "实名认证 Shiming")
        }
        var smsGateway: HTTPSMSGateway?
        if let url = value("SHIMING_SMS_URL") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(variable: "SHIMING_SMS_URL", problem: "must be an http:// or https:// URL, got \"\(url)\"")
            }
            var headers: [String: String] = [:]
            if let raw = value("SHIMING_SMS_HEADERS") {
                guard let parsed = try? JSONDecoder().decode([String: String].self, from: Data(raw.utf8)) else {
                    throw ConfigurationError(variable: "SHIMING_SMS_HEADERS", problem: "must be a JSON object of header names to values")
                }
                headers = parsed
            }
            let body = value("SHIMING_SMS_BODY") ?? HTTPSMSGateway.defaultBody
            let method = (value("SHIMING_SMS_METHOD") ?? "POST").uppercased()
            guard ["POST", "PUT"].contains(method) else {
                throw ConfigurationError(variable: "SHIMING_SMS_METHOD", problem: "must be POST or PUT")
            }
            smsGateway = HTTPSMSGateway(url: url, method: method, headers: headers, bodyTemplate: body,
                                        successContains: value("SHIMING_SMS_SUCCESS_CONTAINS"))
        }

        var identityService: IdentityServiceSettings?
        if let url = value("SHIMING_IDENTITY_SERVICE_URL") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw ConfigurationError(variable: "SHIMING_IDENTITY_SERVICE_URL", problem: "must be an http:// or https:// URL, got \"\(url)\"")
            }
            var settings = IdentityServiceSettings(url: url, token: value("SHIMING_IDENTITY_SERVICE_TOKEN"))
            func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double? {
                guard let raw = value(name) else { return nil }
                guard let parsed = Double(raw), range.contains(parsed) else {
                    throw ConfigurationError(variable: name, problem: "must be a number from \(range.lowerBound) to \(range.upperBound), got \"\(raw)\"")
                }
                return parsed
            }
            if let timeout = try number("SHIMING_IDENTITY_SERVICE_TIMEOUT_SECONDS", 0.1...120) { settings.timeout = timeout }
            if let retries = try number("SHIMING_IDENTITY_SERVICE_RETRIES", 0...10) { settings.retries = Int(retries) }
            if let threshold = try number("SHIMING_IDENTITY_SERVICE_BREAKER_FAILURES", 1...1000) { settings.breakerThreshold = Int(threshold) }
            if let cooldown = try number("SHIMING_IDENTITY_SERVICE_BREAKER_SECONDS", 1...3600) { settings.breakerCooldown = cooldown }
            if let raw = value("SHIMING_IDENTITY_SERVICE_MAPPING") {
                guard let mapping = try? JSONDecoder().decode([String: String].self, from: Data(raw.utf8)) else {
                    throw ConfigurationError(variable: "SHIMING_IDENTITY_SERVICE_MAPPING",
                                             problem: "must be a JSON object, e.g. {\"nameField\":\"xm\",\"numberField\":\"sfzh\",\"resultPath\":\"data.result\",\"match\":\"1\",\"mismatch\":\"2\",\"notFound\":\"3\"}")
                }
                let known = ["nameField", "numberField", "resultPath", "match", "mismatch", "notFound", "differedPath"]
                if let unknown = mapping.keys.sorted().first(where: { !known.contains($0) }) {
                    throw ConfigurationError(variable: "SHIMING_IDENTITY_SERVICE_MAPPING", problem: "has an unknown key \"\(unknown)\"; known: \(known.joined(separator: ", "))")
                }
                func values(_ key: String) -> Set<String>? { mapping[key].map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }) } }
                settings.nameField = mapping["nameField"] ?? settings.nameField
                settings.numberField = mapping["numberField"] ?? settings.numberField
                settings.resultPath = mapping["resultPath"] ?? settings.resultPath
                settings.matchValues = values("match") ?? settings.matchValues
                settings.mismatchValues = values("mismatch") ?? settings.mismatchValues
                settings.notFoundValues = values("notFound") ?? settings.notFoundValues
                if let differed = mapping["differedPath"] { settings.differedPath = differed.isEmpty ? nil : differed }
            }
            identityService = settings
        }

        let poolTimeout = try integer("SHIMING_DATABASE_POOL_TIMEOUT", 10, 1...300, "a number of seconds")
        var configuration = ShimingConfiguration(
            dataDirectory: dataDirectory,
            database: database,
            hostname: hostname,
            port: port,
            logLevel: logLevel,
            logFormat: logFormat,
            messageSink: messageSink,
            encryptionKey: key,
            outboxPollInterval: poll,
            publicURL: publicURL,
            bcryptCost: bcryptCost,
            smtp: smtp,
            smsGateway: smsGateway,
            identityService: identityService,
            reviewIdleMinutes: reviewIdle,
            sweepSeconds: sweepSeconds,
            helpPhone: helpPhone,
            databaseConnectionsPerLoop: connections,
            webhookAllowPrivate: allowPrivate == "1",
            platformRatePerMinute: platformRate,
            metricsToken: metricsToken,
            trustedProxies: trustedProxies,
            auditCheckpointCopy: value("SHIMING_AUDIT_CHECKPOINT_COPY").flatMap { $0.isEmpty ? nil : $0 },
            uploadQuotaBytes: uploadQuota * 1024 * 1024
        )
        configuration.databasePoolTimeout = poolTimeout
        configuration.exportInlineBytes = try integer("SHIMING_EXPORT_INLINE_MB", 20, 1...100_000, "a number of megabytes") * 1024 * 1024
        configuration.sessionCacheSeconds = try integer("SHIMING_SESSION_CACHE_SECONDS", 1, 0...60, "a number of seconds")
        return configuration
    }

    /// The database with any password removed, for logs and banners.
    public var databaseDescription: String {
        switch database {
        case .sqlite(let path):
            return "SQLite \(path)"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "PostgreSQL" }
            if components.password != nil { components.password = "***" }
            return "PostgreSQL \(components.string ?? "")"
        }
    }

    /// The message sink as `SHIMING_MESSAGE_SINK` would spell it.
    public var messageSinkDescription: String {
        switch messageSink {
        case .file(let path): "file:\(path)"
        }
    }
}

/// A configuration value that Shiming cannot start with.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// The environment variable at fault.
    public var variable: String
    /// What is wrong and how to fix it.
    public var problem: String

    public var description: String { "\(variable) \(problem)" }
}
