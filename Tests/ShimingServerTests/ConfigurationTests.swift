import Foundation
import Testing
@testable import ShimingServer

@Suite("Configuration from the environment")
struct ConfigurationTests {
    @Test("with nothing set: ./shiming-data, SQLite in it, port 8080, file sink and a generated key")
    func defaults() throws {
        let config = try ShimingConfiguration.fromEnvironment([:])
        #expect(config.dataDirectory == "./shiming-data")
        #expect(config.database == .sqlite(path: "./shiming-data/shiming.sqlite"))
        #expect(config.port == 8080)
        #expect(config.hostname == "127.0.0.1")
        #expect(config.messageSink == .file(path: "./shiming-data/messages.jsonl"))
        #expect(config.encryptionKey == .dataDirectory(path: "./shiming-data/encryption.key"))
        #expect(config.logLevel == .info)
        #expect(config.logFormat == .text)
    }

    @Test("every variable is honoured")
    func everything() throws {
        let config = try ShimingConfiguration.fromEnvironment([
            "SHIMING_DATA_DIR": "/var/lib/shiming",
            "DATABASE_URL": "postgres://shiming:secret@db:5432/shiming",
            "PORT": "9000",
            "SHIMING_HOSTNAME": "0.0.0.0",
            "SHIMING_LOG_LEVEL": "debug",
            "SHIMING_LOG_FORMAT": "json",
            "SHIMING_MESSAGE_SINK": "file:/tmp/out.jsonl",
            "SHIMING_ENCRYPTION_KEY_FILE": "/run/secrets/key",
            "SHIMING_OUTBOX_POLL_SECONDS": "0.5",
            "SHIMING_HELP_PHONE": "400-800-1234",
            "SHIMING_SWEEP_SECONDS": "5",
        ])
        #expect(config.database == .postgres(url: "postgres://shiming:secret@db:5432/shiming"))
        #expect(config.port == 9000)
        #expect(config.hostname == "0.0.0.0")
        #expect(config.logLevel == .debug)
        #expect(config.logFormat == .json)
        #expect(config.messageSink == .file(path: "/tmp/out.jsonl"))
        #expect(config.encryptionKey == .file(path: "/run/secrets/key"))
        #expect(config.outboxPollInterval == 0.5)
        #expect(config.helpPhone == "400-800-1234")
        #expect(config.sweepSeconds == 5)
        #expect(config.databaseDescription == "PostgreSQL postgres://shiming:***@db:5432/shiming", "no password in logs")
    }

    @Test("PostgreSQL without an explicit key is refused with instructions")
    func postgresNeedsKey() {
        #expect {
            try ShimingConfiguration.fromEnvironment(["DATABASE_URL": "postgres://localhost/shiming"])
        } throws: { error in
            let text = String(describing: error)
            return text.contains("SHIMING_ENCRYPTION_KEY") && text.contains("openssl rand -base64 32")
        }
    }

    @Test("unusable values name their variable", arguments: [
        ("PORT", "eighty"), ("PORT", "70000"), ("SHIMING_LOG_LEVEL", "loud"), ("SHIMING_LOG_FORMAT", "xml"),
        ("SHIMING_MESSAGE_SINK", "smtp"), ("DATABASE_URL", "mysql://x"), ("SHIMING_OUTBOX_POLL_SECONDS", "-1"),
        ("SHIMING_HELP_PHONE", "call us"), ("SHIMING_HELP_PHONE", "<script>"),
        ("SHIMING_TRUSTED_PROXIES", "10.0.0.0/40"), ("SHIMING_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local"),
        ("SHIMING_PLATFORM_RATE_LIMIT", "0"), ("SHIMING_WEBHOOK_ALLOW_PRIVATE", "yes"), ("SHIMING_METRICS_TOKEN", "short"),
        ("SHIMING_DATABASE_POOL_TIMEOUT", "0"), ("SHIMING_DATABASE_POOL_TIMEOUT", "soon"),
        ("SHIMING_SWEEP_SECONDS", "0"), ("SHIMING_SWEEP_SECONDS", "1.5"),
    ])
    func refused(variable: String, value: String) {
        #expect {
            try ShimingConfiguration.fromEnvironment([variable: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test("the wait for a PostgreSQL connection is 10 s unless set")
    func poolTimeout() throws {
        let key = ["SHIMING_ENCRYPTION_KEY": testEncryptionKey]
        #expect(try ShimingConfiguration.fromEnvironment(key).databasePoolTimeout == 10)
        #expect(try ShimingConfiguration.fromEnvironment(key.merging(["SHIMING_DATABASE_POOL_TIMEOUT": "45"]) { $1 }).databasePoolTimeout == 45)
    }

    @Test("both key variables at once are refused")
    func twoKeys() {
        #expect(throws: ConfigurationError.self) {
            try ShimingConfiguration.fromEnvironment([
                "SHIMING_ENCRYPTION_KEY": testEncryptionKey, "SHIMING_ENCRYPTION_KEY_FILE": "/k",
            ])
        }
    }
}
