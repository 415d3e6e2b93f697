import Foundation
import IdentityRules
import NIOConcurrencyHelpers
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// A valid 18-digit resident ID number for a region, birth date (YYYYMMDD) and sequence.
func residentID(region: String = "110105", birth: String, sequence: String = "123") -> String {
    let body = region + birth + sequence
    return body + String(ISO7064.mod11_2CheckCharacter(for: body)!)
}

/// A stand-in for the third-party identity service: answers from a table, or is down.
final class FakeIdentityService: IdentityService {
    private let state = NIOLockedValueBox<(answers: [String: RegistryAnswer], down: Bool, calls: Int)>(([:], false, 0))

    func set(_ number: String, _ answer: RegistryAnswer) { state.withLockedValue { $0.answers[number] = answer } }
    func setDown(_ down: Bool) { state.withLockedValue { $0.down = down } }
    var calls: Int { state.withLockedValue { $0.calls } }

    func check(name: String, documentNumber: String) async -> RegistryAnswer {
        state.withLockedValue { state in
            state.calls += 1
            if state.down { return RegistryAnswer(verdict: .unavailable) }
            return state.answers[documentNumber] ?? RegistryAnswer(verdict: .notFound)
        }
    }
}

/// What tests read of a case.
struct CaseReply: Decodable {
    struct Identity: Decodable { var name: String?; var documentNumber: String?; var documentType: String? }
    struct Check: Decodable { var check: String; var code: String; var passed: Bool; var reason: String; var field: String?; var differed: [String]? }
    struct Reason: Decodable { var code: String; var field: String?; var message: String }
    struct Decision: Decodable { var outcome: String; var rule: String; var reasons: [Reason]; var decidedBy: String }
    struct Step: Decodable { var state: String; var action: String; var by: String; var rule: String? }
    struct Document: Decodable { var id: UUID; var kind: String? }

    var id: UUID
    var program: String
    var state: String
    var identityCode: String?
    var identity: Identity
    var checks: [Check]
    var decision: Decision?
    var history: [Step]
    var documents: [Document]
    var guardianConsent: Bool
    var expiresAt: Date?

    var failed: [Check] { checks.filter { !$0.passed } }
}

struct TaskReply: Decodable {
    var id: UUID
    var caseId: UUID
    var routing: String
    var reason: String
    var dueAt: Date
    var kind: String
    var assigneeId: UUID?
    var escalated: Bool
    var mine: Bool
}

extension TestShiming {
    /// Sends a JSON object built from Swift values (numbers stay numbers).
    func sendObject(_ method: HTTPMethod, _ path: String, token: String?, _ object: [String: Any]) async throws -> TestingHTTPResponse {
        var headers = token.map(bearer) ?? [:]
        headers.contentType = .json
        return checked(method, path, try await app.testing().sendRequest(method, path, headers: headers,
                                                                         body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))))
    }

    /// Creates a case and expects 201.
    func createCase(_ token: String, _ object: [String: Any]) async throws -> CaseReply {
        let response = try await sendObject(.POST, "/api/v1/cases", token: token, object)
        #expect(response.status == .created, "\(response.text)")
        return try response.json(CaseReply.self)
    }

    /// A P3 (senior-personal) application with every required part: identity, address and the
    /// three required documents, ready to submit.
    func seniorCase(_ token: String, name: String, number: String, gender: String = "female") async throws -> CaseReply {
        let item = try await createCase(token, ["program": "senior-personal",
                                                "identity": ["name": name, "documentType": "resident", "documentNumber": number,
                                                             "gender": gender, "address": "北京市西城区某某街道 1 号"]])
        for kind in ["id_front", "id_back", "household_register"] { try await addDocument(token, item.id, kind: kind) }
        return item
    }

    /// Uploads a document of a kind and expects 201.
    func addDocument(_ token: String, _ caseID: UUID, kind: String, _ file: Data = TestFiles.png(width: 1200, height: 800), replace: Bool = false) async throws {
        var fields = ["kind": kind]
        if replace { fields["replace"] = "true" }
        var (headers, body) = TestFiles.multipart(file: file, filename: "\(kind).png", fields: fields)
        headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await app.testing().sendRequest(.POST, "/api/v1/cases/\(caseID)/documents", headers: headers, body: body)
        #expect(response.status == .created, "\(response.text)")
    }

    /// Submits; an accepted submission answers (without reading the case back) exactly what a
    /// read right after it answers, byte for byte.
    func submitCase(_ token: String, _ caseID: UUID, expect status: HTTPStatus = .ok) async throws -> CaseReply? {
        let response = try await send(.POST, "/api/v1/cases/\(caseID)/submit", headers: bearer(token))
        #expect(response.status == status, "\(response.text)")
        guard status == .ok else { return nil }
        let read = try await send(.GET, "/api/v1/cases/\(caseID)", headers: bearer(token))
        #expect(read.status == .ok && read.text == response.text, "submitted: \(response.text)\nread: \(read.text)")
        return try response.json(CaseReply.self)
    }

    func getCase(_ token: String, _ caseID: UUID) async throws -> CaseReply {
        let response = try await send(.GET, "/api/v1/cases/\(caseID)", headers: bearer(token))
        #expect(response.status == .ok, "\(response.text)")
        return try response.json(CaseReply.self)
    }

    /// The open review task of a case, as the staff member sees it (nil if not visible).
    func task(for caseID: UUID, staff token: String) async throws -> TaskReply? {
        let response = try await send(.GET, "/api/v1/review/tasks", headers: bearer(token))
        #expect(response.status == .ok, "\(response.text)")
        return try response.json([TaskReply].self).first { $0.caseId == caseID }
    }

    /// A staff decision on a case's open task; expects 200.
    func decide(_ caseID: UUID, staff token: String, _ outcome: String, reasons: [String] = [], note: String? = nil) async throws -> CaseReply {
        let task = try #require(try await task(for: caseID, staff: token))
        var object: [String: Any] = ["outcome": outcome, "reasons": reasons]
        object["note"] = note
        let response = try await sendObject(.POST, "/api/v1/review/tasks/\(task.id)/decision", token: token, object)
        #expect(response.status == .ok, "\(response.text)")
        return try response.json(CaseReply.self)
    }

    /// Posts a CSV roster as an admin and returns the report.
    func importRoster(_ csv: String, admin token: String) async throws -> RosterReport {
        var headers = bearer(token)
        headers.replaceOrAdd(name: .contentType, value: "text/csv; charset=utf-8")
        let response = try await app.testing().sendRequest(.POST, "/api/v1/admin/rosters", headers: headers, body: ByteBuffer(string: csv))
        #expect(response.status == .ok, "\(response.text)")
        return try response.json(RosterReport.self)
    }
}
