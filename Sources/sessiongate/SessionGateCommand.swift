import ArgumentParser
import Foundation
import Logging
import SessionGate

/// `sessiongate`: the authenticating reverse proxy. The logic lives in the SessionGate library; this file only
/// parses arguments, loads the configuration and reports errors.
@main
struct SessionGateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessiongate",
        abstract: "An authenticating reverse proxy backed by Redis sessions.",
        subcommands: [Run.self, Check.self, Session.self, Auth.self],
        defaultSubcommand: Run.self
    )
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path to the TOML configuration file.")
    var config: String = "proxy.conf"

    /// Loads and validates the file, or prints every problem and exits non-zero.
    func load() throws -> ProxyConfiguration {
        do {
            return try ConfigLoader.load(path: config)
        } catch let error as ConfigurationError {
            printError(error.description)
            throw ExitCode(2)
        }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the proxy (the default).")
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let configuration = try options.load()
        var logger = Logger(label: "sessiongate")
        logger.logLevel = logLevel
        do {
            try await SessionGateApp.run(configuration: configuration, file: options.config, logger: logger)
        } catch let error as ConfigurationError {
            printError(error.description)
            throw ExitCode(2)
        } catch {
            printError("sessiongate: cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}

struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate the configuration and exit: 0 when it is good.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        print("\(options.config): OK (\(configuration.upstreams.count) upstream(s), \(configuration.routes.count) route(s), store \(configuration.session.store.rawValue))")
    }
}

struct Session: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or revoke sessions in the configured store.", subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a session and print its token.")
        @OptionGroup var options: ConfigOption
        @Option(help: "The user ID forwarded to upstreams.") var user: String
        @Option(help: "The user name forwarded to upstreams.") var name: String = ""
        @Option(help: "Comma-separated roles.") var roles: String = ""

        func run() async throws {
            let configuration = try options.load()
            let roleList = roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            do {
                let session = try NewSession(userID: user, userName: name, roles: roleList)
                let created = try await SessionCommands.create(configuration: configuration, session: session, logger: quietLogger())
                print(created.token.rawValue)
            } catch {
                printError("sessiongate session create: \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End every session of a user.")
        @OptionGroup var options: ConfigOption
        @Option(help: "The user whose sessions end.") var user: String

        func run() async throws {
            let configuration = try options.load()
            do {
                let count = try await SessionCommands.revokeAll(configuration: configuration, userID: user, logger: quietLogger())
                print("revoked \(count) session(s) of user \(user)")
            } catch {
                printError("sessiongate session revoke: \(error)")
                throw ExitCode(1)
            }
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

func quietLogger() -> Logger {
    var logger = Logger(label: "sessiongate")
    logger.logLevel = .error
    return logger
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
