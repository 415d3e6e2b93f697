import Foundation
import ShimingCore
import Testing
import Vapor
import VaporTesting
@testable import ShimingServer

/// A password that passes the policy.
let goodPassword = "Shiming-2026!"

extension TestShiming {
    struct Created: Decodable {
        var id: UUID
        var status: String
        var contacts: [ContactView]
    }

    /// Registers through the API and returns the new account.
    @discardableResult
    func registerAccount(
        username: String? = nil, phone: String? = nil, email: String? = nil, guardianPhone: String? = nil,
        password: String = goodPassword, expect status: HTTPStatus = .created
    ) async throws -> Created? {
        var body: [String: String] = ["password": password]
        body["username"] = username
        body["phone"] = phone
        body["email"] = email
        body["guardianPhone"] = guardianPhone
        let response = try await postRegistration(body)
        #expect(response.status == status, "\(response.text)")
        return status == .created ? try response.json(Created.self) : nil
    }

    /// Posts a registration with these string fields, the terms and (unless the fields say otherwise) the sensitive-data consent accepted.
    func postRegistration(_ fields: [String: String]) async throws -> TestingHTTPResponse {
        var json = fields.mapValues { $0 as Any }
        json["acceptTerms"] = true
        if json["acceptSensitive"] == nil { json["acceptSensitive"] = true }
        var headers = HTTPHeaders()
        headers.contentType = .json
        return try await app.testing().sendRequest(
            .POST, "/api/v1/accounts", headers: headers, body: ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
        )
    }

    /// Delivers the outbox and returns the newest code sent to a destination.
    func latestCode(to destination: String) async throws -> String? {
        try await deliverOutbox()
        return sink.messages.last { $0.to == destination && $0.code != nil }?.code
    }

    /// Signs in through the API and returns the bearer token.
    func signIn(_ login: String, password: String = goodPassword) async throws -> String {
        let response = try await send(.POST, "/api/v1/sessions", json: ["login": login, "password": password])
        #expect(response.status == .created, "\(response.text)")
        struct Session: Decodable { var token: String }
        return try response.json(Session.self).token
    }

    /// A registered and confirmed applicant, signed in: returns (id, bearer token).
    func activeApplicant(phone: String = "13800138000") async throws -> (UUID, String) {
        let created = try #require(try await registerAccount(phone: phone))
        let code = try #require(try await latestCode(to: phone))
        let confirm = try await send(.POST, "/api/v1/accounts/\(created.id)/contacts/confirm", json: ["channel": "sms", "code": code])
        #expect(confirm.status == .ok, "\(confirm.text)")
        return (created.id, try await signIn(phone))
    }

    /// A staff member created as the CLI would, signed in: returns the bearer token.
    func staff(_ roles: [StaffRole], username: String, scope: (String, String, String)? = nil,
               phone: String? = nil, email: String? = nil) async throws -> String {
        let input = AccountService.StaffInput(
            username: username, password: goodPassword, roles: roles.map(\.rawValue), phone: phone, email: email,
            school: scope?.0, grade: scope?.1, class: scope?.2
        )
        _ = try await app.features.accounts.createStaff(input, actor: .cli("test"), ip: nil)
        return try await signIn(username)
    }

    /// Headers carrying a bearer token.
    func bearer(_ token: String) -> HTTPHeaders { ["Authorization": "Bearer \(token)"] }
}
