import Foundation
import NIOConcurrencyHelpers

/// Delivers one message to the outside world. Throwing means "not delivered; try again later".
public protocol MessageSink: Sendable {
    /// Delivers the message; `at` is the delivery time from the injected clock.
    func deliver(_ message: OutgoingMessage, at: Date) async throws
    /// How the sink appears in logs and the start banner.
    var description: String { get }
}

/// The development sink of API.md: appends every message as one JSON line to a file, where
/// people and tests read codes:
/// `{"channel":…,"to":…,"template":…,"text":…,"code":…?,"at":…}`.
public final class FileMessageSink: MessageSink {
    private let path: String

    /// Creates a sink appending to `path`, creating the file and its folder on first use.
    public init(path: String) {
        self.path = path
    }

    public var description: String { "file:\(path)" }

    struct Line: Encodable {
        var channel: String
        var to: String
        var template: String
        var subject: String?
        var text: String
        var code: String?
        var at: String
    }

    public func deliver(_ message: OutgoingMessage, at: Date) async throws {
        let line = Line(
            channel: message.channel.rawValue, to: message.to, template: message.template,
            subject: message.subject, text: message.text, code: message.code,
            at: RFC3339.string(from: at)
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var data = try encoder.encode(line)
        data.append(0x0A)
        // Messages carry codes: readable by the owner only. Each line is one O_APPEND write, so
        // parallel deliveries, and instances sharing a data dir, never interleave.
        try AppendOnlyFile.append(data, to: path, sync: false)
    }
}

/// A sink that keeps messages in memory; tests read from it and can make deliveries fail.
public final class RecordingMessageSink: MessageSink {
    private struct State {
        var delivered: [OutgoingMessage] = []
        var failuresToInject = 0
    }
    private let state = NIOLockedValueBox(State())

    /// Creates an empty recording sink.
    public init() {}

    public var description: String { "recording (tests)" }

    /// Every message delivered so far, in order.
    public var messages: [OutgoingMessage] { state.withLockedValue { $0.delivered } }

    /// Makes the next `count` deliveries fail, to exercise retries.
    public func failNext(_ count: Int) {
        state.withLockedValue { $0.failuresToInject = count }
    }

    public func deliver(_ message: OutgoingMessage, at: Date) async throws {
        try state.withLockedValue { state in
            if state.failuresToInject > 0 {
                state.failuresToInject -= 1
                throw SinkUnavailable()
            }
            state.delivered.append(message)
        }
    }

    struct SinkUnavailable: Error, CustomStringConvertible {
        var description: String { "recording sink told to fail" }
    }
}

/// RFC 3339 UTC timestamps, as used throughout the API.
public enum RFC3339 {
    /// Formats an instant as `2026-11-21T08:00:00Z` (fractional seconds when present).
    public static func string(from date: Date) -> String {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: date.timeIntervalSince1970.truncatingRemainder(dividingBy: 1) != 0)
        return date.formatted(style)
    }

    /// Parses `2026-11-21T08:00:00Z` or with an offset, with or without fractional seconds.
    public static func date(from string: String) -> Date? {
        (try? Date(string, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false)))
            ?? (try? Date(string, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }
}
