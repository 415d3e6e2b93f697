import Foundation
import Logging
import ShimingServer
import Vapor

/// The `shiming` executable: `serve` (default), `migrate`, `audit verify`, and the tools later
/// capabilities add. Configuration comes from the environment (see README.md).
@main
enum ShimingMain {
    static func main() async throws {
        // Tools that need no configuration, database or data directory run on their own.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "idcheck" {
            exit(IDCheckTool.run(Array(arguments.dropFirst())))
        }

        let environment = try Environment.detect()
        let configuration: ShimingConfiguration
        do {
            configuration = try ShimingConfiguration.fromEnvironment()
        } catch {
            FileHandle.standardError.write(Data("shiming: cannot start: \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        LogSetup.bootstrap(level: configuration.logLevel, format: configuration.logFormat)

        let app = try await Application.make(environment)
        do {
            try await configure(app, configuration: configuration)
            try await app.execute()
        } catch let error as ConfigurationError {
            app.logger.critical("Cannot start: \(error)")
            try? await app.asyncShutdown()
            exit(78)
        } catch let error as ProgramFileError {
            app.logger.critical("Cannot start: invalid program file \(error)")
            FileHandle.standardError.write(Data("shiming: cannot start: invalid program file \(error)\n".utf8))
            try? await app.asyncShutdown()
            exit(78)
        } catch {
            try? await app.asyncShutdown()
            throw error
        }
        try await app.asyncShutdown()
    }
}
