import Foundation
import NIOCore
import Testing

@testable import SessionGate

@Suite("ConfigLoader: [auth]")
struct ConfigAuthTests {
    /// A users file with one bcrypt entry, in a temporary directory.
    static func usersFile(_ text: String = "alice:$2y$04$W4Zq9lZb1kJYqSgYvOQv1.hge4agkYOdKAERWhP.WeAhSSp7Op8hW\n") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sg-users-\(UUID().uuidString)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func absentMeansOff() throws {
        #expect(try ConfigLoader.parse(ConfigFixture.tail).auth == nil)
    }

    @Test func everyKey() throws {
        let path = try Self.usersFile()
        let configuration = try ConfigLoader.parse(ConfigFixture.withTail("""
            [auth]
            prefix = "/account"
            users_file = "\(path)"
            admin_role = "ops"
            max_sessions_per_user = 3
            on_limit = "reject"
            max_failed_logins_per_user = 4
            max_failed_logins_per_ip = 40
            failed_login_window = "5m"
            allowed_origins = ["https://app.example.com", "http://localhost:8080"]

            [auth.users.alice]
            user_id = "42"
            roles = ["admin", "user"]
            """))
        let auth = try #require(configuration.auth)
        #expect(auth.prefix == "/account")
        #expect(auth.adminRole == "ops")
        #expect(auth.maxSessionsPerUser == 3)
        #expect(auth.onLimit == .reject)
        #expect(auth.maxFailedLoginsPerUser == 4)
        #expect(auth.maxFailedLoginsPerIP == 40)
        #expect(auth.failedLoginWindow == .minutes(5))
        #expect(auth.allowedOrigins == ["https://app.example.com", "http://localhost:8080"])
        guard case .htpasswd(let file, let users) = auth.backend else {
            Issue.record("expected the htpasswd backend")
            return
        }
        #expect(file.entries.keys.sorted() == ["alice"])
        #expect(users["alice"] == AuthUser(userID: "42", roles: ["admin", "user"]))
    }

    @Test func authenticatorURL() throws {
        let configuration = try ConfigLoader.parse(ConfigFixture.withTail("""
            [auth]
            authenticator = "http://users.internal:9000/v1/check"
            authenticator_timeout = "2s"
            """))
        guard case .authenticator(let endpoint)? = configuration.auth?.backend else {
            Issue.record("expected the authenticator backend")
            return
        }
        #expect(endpoint == AuthenticatorEndpoint(host: "users.internal", port: 9000, path: "/v1/check"))
        #expect(configuration.auth?.authenticatorTimeout == .seconds(2))
        #expect(AuthenticatorEndpoint.parse("http://127.0.0.1") == AuthenticatorEndpoint(host: "127.0.0.1", port: 80, path: "/"))
        #expect(AuthenticatorEndpoint.parse("https://x:1/") == nil)
    }

    @Test func aBackendIsRequiredAndOnlyOne() throws {
        let none = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[auth]\nmax_sessions_per_user = 2"))
        #expect(none.key == "auth.users_file")
        #expect(none.message.contains("needs users_file"))
        let path = try Self.usersFile()
        let both = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [auth]
            users_file = "\(path)"
            authenticator = "http://127.0.0.1:9000/"
            """))
        #expect(both.key == "auth.authenticator")
        #expect(both.line == 3)
        #expect(both.message == "set either users_file or authenticator, not both")
    }

    @Test func badValuesNameKeyAndLine() throws {
        let path = try Self.usersFile()
        let problems = ConfigFixture.problems(in: ConfigFixture.withTail("""
            [auth]
            users_file = "\(path)"
            on_limit = "oldest"
            max_sessions_per_user = -1
            allowed_origins = ["https://ok.example", "https://bad.example/path"]
            prefix = "auth/"
            max_failed_logins_pr_user = 3

            [auth.users.alice]
            user_id = ""
            roles = ["a b"]
            """))
        let byKey = Dictionary(problems.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byKey["auth.on_limit"]?.line == 3)
        #expect(byKey["auth.on_limit"]?.message.contains(#""evict_oldest", "reject""#) == true)
        #expect(byKey["auth.max_sessions_per_user"]?.line == 4)
        #expect(byKey["auth.allowed_origins[1]"]?.message.contains("is not an origin") == true)
        #expect(byKey["auth.prefix"]?.line == 6)
        #expect(byKey["auth.max_failed_logins_pr_user"]?.message.contains(#"did you mean "max_failed_logins_per_user""#) == true)
        #expect(byKey["auth.users.alice.user_id"]?.line == 10)
        #expect(byKey["auth.users.alice.roles[0]"]?.message.contains("not a role name") == true)
        #expect(problems.count == 7)
    }

    @Test func usersFileProblems() throws {
        let missing = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[auth]\nusers_file = \"/nonexistent/users\""))
        #expect(missing.key == "auth.users_file")
        #expect(missing.line == 2)
        #expect(missing.message.contains("cannot be read"))
        let md5 = try Self.usersFile("bob:$apr1$xyz$abc\n")
        let weak = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("[auth]\nusers_file = \"\(md5)\""))
        #expect(weak.message.contains("line 1: the hash of \"bob\" is not bcrypt"))
    }

    @Test func usersTablesBelongToTheUsersFile() throws {
        let problem = try ConfigFixture.onlyProblem(in: ConfigFixture.withTail("""
            [auth]
            authenticator = "http://127.0.0.1:9000/"

            [auth.users.alice]
            roles = ["x"]
            """))
        #expect(problem.key == "auth.users.alice")
        #expect(problem.line == 4)
        #expect(problem.message == "[auth.users.*] applies to users_file only")
    }
}
