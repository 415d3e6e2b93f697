import Foundation
import Logging
import Testing
@testable import ShimingServer

@Suite("JSON logs")
struct LoggingTests {
    @Test("a record becomes one JSON object per line with time, level, label, message and metadata")
    func jsonLine() throws {
        var handler = JSONLogHandler(label: "shiming.outbox")
        handler[metadataKey: "request-id"] = "abc"
        let event = LogEvent(
            level: .warning, message: "not delivered \"retry\"", metadata: ["attempt": "2"],
            source: nil, file: #fileID, function: #function, line: #line
        )
        let data = try #require(handler.line(for: event, at: testStart))
        #expect(data.last == 0x0A)
        #expect(data.dropLast().contains(0x0A) == false, "exactly one line")
        let object = try JSONSerialization.jsonObject(with: data) as? [String: String]
        #expect(object == [
            "at": "2026-11-21T08:00:00Z", "level": "warning", "label": "shiming.outbox",
            "message": "not delivered \"retry\"", "attempt": "2", "request-id": "abc",
        ])
    }
}
