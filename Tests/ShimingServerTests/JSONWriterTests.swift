import Foundation
import ShimingCore
import Testing
import Vapor
@testable import ShimingServer

@Suite("Answers written directly")
struct JSONWriterTests {
    private static let pieces = ["ok", "陈志远", "a/b", "😀", " ", "\"", "\\", "\n", "\u{1}", "\u{7f}", "\u{2028}", "</script>", "13800138000", ""]

    private struct Draw {
        var random: SeededRandom

        mutating func flip() -> Bool { Bool.random(using: &random) }
        mutating func count(_ most: Int) -> Int { Int.random(in: 0...most, using: &random) }
        mutating func text() -> String { (0..<count(3)).map { _ in JSONWriterTests.pieces.randomElement(using: &random)! }.joined() }
        mutating func maybe() -> String? { flip() ? text() : nil }
        mutating func texts() -> [String]? { flip() ? nil : (0..<count(3)).map { _ in text() } }
        /// Mostly within the years `SortedJSON` writes; one in twenty before 1900 (it refuses those).
        mutating func date() -> Date {
            let low: Double = count(19) == 0 ? -3_000_000_000 : -2_208_988_800
            return Date(timeIntervalSince1970: Double.random(in: low...253_402_300_799, using: &random))
        }
        mutating func maybeDate() -> Date? { flip() ? date() : nil }
    }

    /// As text, so that a failure shows where the two differ.
    private func sortedJSON<T: Encodable>(_ value: T) -> String? {
        (try? SortedJSON(escapesSlashes: false).encode(value)).map { String(decoding: $0, as: UTF8.self) }
    }

    private func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    private func randomView(_ draw: inout Draw) throws -> CaseView {
        let base = #"{"id":"\#(UUID().uuidString)","program":"p","state":"draft","stateLabel":"草稿","identity":{},"documents":[],"checks":[],"history":[],"guardianConsent":false,"createdAt":"2026-12-06T00:00:00Z","updatedAt":"2026-12-06T00:00:00Z"}"#
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var view = try decoder.decode(CaseView.self, from: Data(base.utf8))
        view.program = draw.text()
        view.state = draw.text()
        view.stateLabel = draw.text()
        view.identityCode = draw.maybe()
        view.identity = .init(name: draw.maybe(), documentType: draw.maybe(), documentNumber: draw.maybe(), gender: draw.maybe(), address: draw.maybe())
        view.contact = draw.flip() ? nil : .init(phone: draw.maybe(), email: draw.maybe())
        view.school = draw.flip() ? nil : .init(school: draw.maybe(), grade: draw.maybe(), class: draw.maybe(),
                                                enrolmentYear: draw.flip() ? Int.random(in: -5...3_000, using: &draw.random) : nil)
        view.guardian = draw.flip() ? nil : .init(name: draw.maybe(), phone: draw.maybe(), relation: draw.maybe(), documentNumber: draw.maybe())
        view.organisation = draw.flip() ? nil : .init(name: draw.maybe(), creditCode: draw.maybe(), representative: draw.maybe())
        view.documents = try (0..<draw.count(3)).map { _ in
            var file: [String: Any] = ["id": UUID().uuidString, "size": draw.count(9_000_000), "contentType": draw.text(),
                                       "createdAt": "2026-12-0\(draw.count(8) + 1)T08:00:0\(draw.count(9))Z"]
            if draw.flip() { file["kind"] = draw.text() }
            if draw.flip() { file["width"] = draw.count(5_000) }
            if draw.flip() { file["height"] = draw.count(5_000) }
            return try decoder.decode(StoredFileView.self, from: JSONSerialization.data(withJSONObject: file))
        }
        view.checks = (0..<draw.count(5)).map { _ in
            .init(check: draw.text(), code: draw.text(), passed: draw.flip(), reason: draw.text(), field: draw.maybe(), matched: draw.texts(), differed: draw.texts())
        }
        view.decision = draw.flip() ? nil : .init(outcome: draw.text(), rule: draw.text(),
                                                  reasons: (0..<draw.count(3)).map { _ in .init(code: draw.text(), field: draw.maybe(), message: draw.text()) },
                                                  decidedBy: draw.text(), decidedAt: draw.date(), message: draw.maybe())
        view.history = (0..<draw.count(6)).map { _ in .init(state: draw.text(), action: draw.text(), at: draw.date(), by: draw.text(), rule: draw.maybe()) }
        view.guardianConsent = draw.flip()
        view.confirmationExpiresAt = draw.maybeDate()
        view.submittedAt = draw.maybeDate()
        view.verifiedAt = draw.maybeDate()
        view.expiresAt = draw.maybeDate()
        view.createdAt = draw.date()
        view.updatedAt = draw.date()
        return view
    }

    @Test("a case's answer: the bytes SortedJSON writes, for 2,000 seeded random cases (every member present or absent, odd texts, dates it refuses)")
    func caseView() throws {
        var draw = Draw(random: SeededRandom(state: 20261206))
        var refused = 0
        for _ in 0..<2_000 {
            let view = try randomView(&draw)
            let direct = text(try? view.json())
            #expect(direct == sortedJSON(view))
            if direct == nil { refused += 1 }
        }
        // Both kinds were met: written, and refused (then the encoder's fallback writes it).
        #expect(refused > 0 && refused < 1_000)
    }

    @Test("a verification's answer: the bytes SortedJSON writes, for 2,000 seeded random answers")
    func verification() throws {
        var draw = Draw(random: SeededRandom(state: 20261207))
        for _ in 0..<2_000 {
            var claims: [String: ClaimValue] = [:]
            for _ in 0..<draw.count(5) {
                switch draw.count(2) {
                case 0: claims[draw.text()] = .bool(draw.flip())
                case 1: claims[draw.text()] = .string(draw.text())
                default: claims[draw.text()] = .object(Dictionary((0..<draw.count(3)).map { _ in (draw.text(), draw.text()) }, uniquingKeysWith: { a, _ in a }))
                }
            }
            let answer = VerificationAnswer(verified: draw.flip(), program: draw.maybe(), level: draw.maybe(), verifiedAt: draw.maybeDate(),
                                            expiresAt: draw.maybeDate(), claims: claims)
            let body = PlatformViews.VerificationBody(answer)
            let direct = text(try? body.json())
            #expect(direct == sortedJSON(body))
        }
    }

    @Test("the answer's response: the API encoder's bytes and content type, written directly or, for a date it refuses, by the encoder")
    func response() throws {
        var draw = Draw(random: SeededRandom(state: 20261208))
        var view = try randomView(&draw)
        view.createdAt = Date(timeIntervalSince1970: 1_765_000_000)
        for created in [view.createdAt, Date(timeIntervalSince1970: -3_000_000_000)] {
            view.createdAt = created
            let direct = try JSONCoding.response(view) { try $0.json() }
            let encoded = Response()
            try encoded.content.encode(view, using: JSONCoding.encoder)
            #expect(direct.headers.contentType == .json)
            #expect(direct.headers == encoded.headers)
            #expect(direct.body.buffer == encoded.body.buffer)
        }
    }
}
