import Foundation
import Logging

/// Process-wide logging, set once by the executable: readable text by default, JSON lines
/// (`SHIMING_LOG_FORMAT=json`) for log collectors.
public enum LogSetup {
    /// Installs the log handler; call once, before the application is made.
    public static func bootstrap(level: Logger.Level, format: ShimingConfiguration.LogFormat) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = switch format {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes each log record as one JSON object on standard error:
/// `{"at","level","label","message",…metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    /// Creates a handler for one logger label.
    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard let line = line(for: event, at: Date()) else { return }
        FileHandle.standardError.write(line)
    }

    /// The JSON line for one record; call metadata wins over the logger's own.
    func line(for event: LogEvent, at date: Date) -> Data? {
        var object: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = "\(value)"
        }
        object["at"] = date.formatted(.iso8601)
        object["level"] = event.level.rawValue
        object["label"] = label
        object["message"] = "\(event.message)"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(object) else { return nil }
        data.append(0x0A)
        return data
    }
}
