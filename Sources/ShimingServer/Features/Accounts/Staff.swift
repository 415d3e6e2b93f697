import Fluent
import Foundation
import IdentityRules
import ShimingCore
import Vapor

/// Creating staff accounts: from the command line (`shiming admin create`) and by admins
/// through the API. Staff accounts are active at once: an administrator vouches for them.
extension AccountService {
    struct StaffInput: Content {
        var username: String
        var password: String
        var roles: [String]
        var phone: String?
        var email: String?
        var school: String?
        var grade: String?
        var `class`: String?
    }

    func createStaff(_ input: StaffInput, actor: AuditActor, ip: String?) async throws -> Account {
        var fields: [String: String] = [:]
        let username = input.username.trimmingCharacters(in: .whitespaces)
        if !Self.isValidUsername(username) { fields["username"] = "invalid_format" }
        let roles = input.roles.map { StaffRole(rawValue: $0.lowercased()) }
        if roles.isEmpty || roles.contains(nil) { fields["roles"] = "invalid_value" }
        var phone: String?, email: String?
        if let raw = input.phone, !raw.isEmpty {
            do throws(DocumentError) { phone = try MobileNumber.validate(raw) } catch { fields["phone"] = error.rawValue }
        }
        if let raw = input.email, !raw.isEmpty {
            do throws(DocumentError) { email = try EmailAddress.validate(raw) } catch { fields["email"] = error.rawValue }
        }
        let scopeParts = [input.school, input.grade, input.class].map { $0?.trimmingCharacters(in: .whitespaces) ?? "" }
        let scope: ClassScope? = scopeParts.allSatisfy(\.isEmpty) ? nil
            : ClassScope(school: scopeParts[0], grade: scopeParts[1], className: scopeParts[2])
        if let scope, [scope.school, scope.grade, scope.className].contains(where: \.isEmpty) {
            fields["class"] = "required"  // a teacher's scope names school, grade and class
        }
        if roles.contains(.teacher), scope == nil { fields["school"] = "required" }
        do throws(PasswordProblem) {
            try passwords.check(input.password, context: [username.lowercased(), phone, email].compactMap { $0 })
        } catch {
            fields["password"] = error.rawValue
        }
        guard fields.isEmpty else { throw AccountError.invalid(fields) }
        let lowered = username.lowercased()
        try await refuseDuplicates(username: lowered, phone: phone, email: email)

        let passwordHash = try await hasher.hash(input.password)
        let now = self.now
        let id = UUID()
        let roleList = roles.compactMap { $0 }.sorted().map(\.rawValue)
        let record = try await context.writeGate.transaction(on: db) { [self, phone, email] tx in
            let record = try newRecord(
                id: id, username: lowered, phone: phone, email: email, guardianPhone: nil,
                passwordHash: passwordHash, status: .active, kind: .staff, locale: .zhCN, now: now
            )
            record.roles = roleList.joined(separator: ",")
            record.scopeSchool = scope?.school
            record.scopeGrade = scope?.grade
            record.scopeClass = scope?.className
            try await record.create(on: tx)
            var details = ["roles": roleList.joined(separator: ","), "username": lowered]
            if let scope { details["scope"] = "\(scope.school)/\(scope.grade)/\(scope.className)" }
            try await AuditLog.record("staff.created", actor: actor, subject: "account:\(id.uuidString.lowercased())", ip: ip,
                                      details: details, at: now, on: tx)
            return record
        }
        return try record.account(cipher: cipher)
    }
}

/// `shiming admin create --username U --password-stdin --role ROLE [--role ROLE] [--phone P]
/// [--email E] [--school S --grade G --class C]`.
struct AdminCommands: AsyncCommandGroup {
    var help: String { "Administration tools." }
    var commands: [String: any AnyAsyncCommand] { ["create": CreateStaffCommand()] }
}

struct CreateStaffCommand: AsyncCommand {
    struct Signature: CommandSignature {
        @Option(name: "username", help: "Login name") var username: String?
        @Flag(name: "password-stdin", help: "Read the password from standard input") var passwordStdin: Bool
        @Option(name: "role", help: "reviewer, teacher, supervisor, admin or auditor (comma-separated for several)") var role: String?
        @Option(name: "phone", help: "Mobile number") var phone: String?
        @Option(name: "email", help: "E-mail address") var email: String?
        @Option(name: "school", help: "Teacher's school") var school: String?
        @Option(name: "grade", help: "Teacher's grade") var grade: String?
        @Option(name: "class", help: "Teacher's class") var className: String?
    }

    var help: String { "Creates a staff account (the first admin, or any staff member)." }

    func run(using context: CommandContext, signature: Signature) async throws {
        guard let username = signature.username, let role = signature.role else {
            throw ConfigurationError(variable: "--username/--role", problem: "are required")
        }
        guard signature.passwordStdin, let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ConfigurationError(variable: "--password-stdin", problem: "is required: pipe the password on standard input")
        }
        let app = context.application
        try await app.autoMigrate()
        let input = AccountService.StaffInput(
            username: username, password: password, roles: role.split(separator: ",").map(String.init),
            phone: signature.phone, email: signature.email, school: signature.school, grade: signature.grade, class: signature.className
        )
        do {
            let account = try await app.features.accounts.createStaff(input, actor: .cli(ProcessInfo.processInfo.userName), ip: nil)
            context.console.print("Created staff account \(account.username ?? "") (\(account.roles.sorted().map(\.rawValue).joined(separator: ", "))), id \(account.id)")
        } catch let error as UserFacingError {
            let details = error.fields.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", ")
            context.console.error("\(error.message(.en)) \(details)")
            throw error
        }
    }
}

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
