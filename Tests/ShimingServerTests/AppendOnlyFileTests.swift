import Foundation
import Testing
@testable import ShimingServer

/// The audit checkpoint file and the message file may be shared by several instances.
@Suite("Appending to a shared file")
struct AppendOnlyFileTests {
    @Test("8 writers appending 200 lines each at once, each with its own descriptor: 1,600 whole lines, owner-only")
    func parallelAppends() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("append-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("nested/lines.jsonl").path
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for line in 0..<200 {
                        let text = "{\"writer\":\(writer),\"line\":\(line),\"pad\":\"\(String(repeating: "x", count: 300))\"}\n"
                        try AppendOnlyFile.append(Data(text.utf8), to: path, sync: false)
                    }
                }
            }
            try await group.waitForAll()
        }
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1_600)
        let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(parsed.count == 1_600)
        #expect(Set(parsed.map { "\($0["writer"] ?? "")-\($0["line"] ?? "")" }).count == 1_600)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode.map { $0 & 0o077 } == 0)
    }
}
