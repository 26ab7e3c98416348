import ArgumentParser
import Foundation
import SessionGate

/// `sessiongate auth hash-password`: bcrypt hashes for `users_file`, without needing apache2-utils.
struct Auth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Helpers for the [auth] endpoints.", subcommands: [HashPassword.self])

    struct HashPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a password from standard input (first line) and print its bcrypt hash.",
            discussion: "With --user, prints an htpasswd line: echo 'secret' | sessiongate auth hash-password --user alice >> users.htpasswd")
        @Option(help: "Print \"USER:hash\", an htpasswd line.") var user: String?
        @Option(help: "bcrypt cost (4...31).") var cost: Int = 10

        func run() async throws {
            guard let password = readLine(strippingNewline: true), !password.isEmpty else {
                printError("sessiongate auth hash-password: no password on standard input")
                throw ExitCode(1)
            }
            do {
                let hash = try PasswordHash.hash(password: password, cost: cost)
                print(user.map { "\($0):\(hash)" } ?? hash)
            } catch {
                printError("sessiongate auth hash-password: \(error)")
                throw ExitCode(1)
            }
        }
    }
}
