import Fluent
import Foundation
import ShimingCore
import Vapor

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
        try await app.shimingMigrate()
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
