import NIOCore
import NIOPosix

/// Who a login proved to be.
struct VerifiedUser: Sendable, Equatable {
    var userID: String
    var userName: String
    var roles: [String]
}

/// The credential backend could not answer: the login fails closed (503).
struct CredentialBackendUnavailable: Error, Sendable, CustomStringConvertible {
    var description: String
}

/// Checks a user name and password.
protocol CredentialVerifier: Sendable {
    /// - Returns: the user, or nil when the credentials are wrong (unknown user and wrong password alike).
    /// - Throws: ``CredentialBackendUnavailable`` when the backend cannot answer.
    func verify(_ credentials: LoginCredentials, on eventLoop: EventLoop) async throws -> VerifiedUser?
}

/// `users_file`: bcrypt entries from an htpasswd file, with IDs and roles from `[auth.users.NAME]`.
///
/// bcrypt runs on NIO's shared thread pool, never on an event loop. An unknown user is checked against a dummy hash
/// of the same cost, so both failures take the same time and give the same answer.
struct HtpasswdVerifier: CredentialVerifier {
    let htpasswd: Htpasswd
    let users: [String: AuthUser]
    let dummyHash: String

    init(htpasswd: Htpasswd, users: [String: AuthUser]) {
        self.htpasswd = htpasswd
        self.users = users
        let cost = htpasswd.entries.values.compactMap(PasswordHash.cost(of:)).max() ?? 10
        // A hash of random bytes: no password matches it.
        self.dummyHash = (try? PasswordHash.hash(password: Crypto.hex(Crypto.randomBytes(16)), cost: cost))
            ?? "$2b$10$" + String(repeating: ".", count: 53)
    }

    func verify(_ credentials: LoginCredentials, on eventLoop: EventLoop) async throws -> VerifiedUser? {
        let stored = htpasswd.entries[credentials.username]
        let hash = stored ?? dummyHash
        let matches: Bool
        do {
            matches = try await NIOThreadPool.singleton.runIfActive {
                PasswordHash.verify(password: credentials.password, hash: hash)
            }
        } catch {
            throw CredentialBackendUnavailable(description: "the password hashing pool is not running: \(error)")
        }
        guard matches, stored != nil else { return nil }
        let user = users[credentials.username] ?? AuthUser(userID: credentials.username, roles: [])
        return VerifiedUser(userID: user.userID, userName: credentials.username, roles: user.roles)
    }
}
