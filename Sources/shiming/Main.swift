import Foundation
import Logging
import NIOCore
import NIOPosix
import ShimingCore
import ShimingServer
import Vapor

/// The `shiming` executable: `serve` (default), `migrate`, `audit verify`, and the tools later
/// capabilities add. Configuration comes from the environment (see README.md).
@main
enum ShimingMain {
    static func main() async throws {
        // Swift tasks run on the event loops that serve the requests (no hop to a separate
        // thread pool on every await), as jobs of the global executor (`LoopGlobalExecutor`;
        // NIO's own take-over where that cannot be installed). Nothing here blocks a thread in
        // a task: bcrypt, SQLite and file I/O run on NIO thread pools.
        if !LoopGlobalExecutor.install() {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        // Tools that need no configuration, database or data directory run on their own.
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "idcheck" {
            exit(IDCheckTool.run(Array(arguments.dropFirst())))
        }

        let environment = try Environment.detect()
        let configuration: ShimingConfiguration
        do {
            configuration = try ShimingConfiguration.fromEnvironment(Self.environment(with: arguments))
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
            // A command that fails says why and exits non-zero (never a crash with a backtrace).
            let message = (error as? UserFacingError).map { $0.message(.en) } ?? String(describing: error)
            FileHandle.standardError.write(Data("shiming: \(message)\n".utf8))
            try? await app.asyncShutdown()
            exit(1)
        }
        try await app.asyncShutdown()
    }

    /// The environment, with `serve --port P --hostname H` (or `-p`, `-H`) taken as `PORT` and
    /// `SHIMING_HOSTNAME`: they decide the default public URL too (links in messages, the
    /// consent texts' addresses), which is read with the rest of the configuration.
    static func environment(with arguments: [String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        guard arguments.first.map({ $0 == "serve" || $0.hasPrefix("-") }) ?? false else { return environment }
        for (flags, variable) in [(["--port", "-p"], "PORT"), (["--hostname", "-H"], "SHIMING_HOSTNAME")] {
            for (index, argument) in arguments.enumerated() {
                if flags.contains(argument), index + 1 < arguments.count { environment[variable] = arguments[index + 1] }
                for flag in flags where flag.hasPrefix("--") && argument.hasPrefix(flag + "=") {
                    environment[variable] = String(argument.dropFirst(flag.count + 1))
                }
            }
        }
        return environment
    }
}
