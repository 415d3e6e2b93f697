import Foundation
import ShimingCore
import Vapor

/// `POST /api/v1/admin/staff`.
struct StaffController {
    let features: Features

    func register(_ routes: any RoutesBuilder) {
        routes.grouped("api", "v1", "admin").on(.POST, "staff", documentation: APIOperation(
            "createStaff", summary: "Create a staff account (admins only)", tag: "admin",
            requestBody: .object([
                "username": .string(), "password": .string(), "roles": .array(.string(allowed: StaffRole.allCases.map(\.rawValue))),
                "phone": .string(), "email": .string(format: "email"),
                "school": .string(), "grade": .string(), "class": .string(),
            ], required: ["username", "password", "roles"]),
            responses: [201: .init("Created", schema: .ref("Account"))],
            access: .staff(AccessPolicy.administer)
        ), use: create)
    }

    @Sendable func create(_ req: Request) async throws -> Response {
        let admin = try req.requireAccount()
        let input = try req.content.decode(AccountService.StaffInput.self)
        let account = try await features.accounts.createStaff(input, actor: .staff(admin.id), ip: req.clientIP)
        return try await AccountView(account).encodeResponse(status: .created, for: req)
    }
}
