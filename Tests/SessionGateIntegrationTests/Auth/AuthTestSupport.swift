import Foundation
import NIOCore
import Testing

@testable import SessionGate

/// Two SessionGate instances (A and B, different ports) sharing ONE real redis-server, with the same `[auth]` table:
/// what a deployment behind a load balancer looks like.
final class AuthPair: Sendable {
    let redis: RedisServer
    let a: ProxyHarness
    let b: ProxyHarness
    let directory: URL

    /// The users file's accounts: name → (password, user ID, roles).
    static let accounts: [(name: String, password: String, id: String, roles: [String])] = [
        ("alice", "wonderland", "u-alice", ["user"]),
        ("bob", "builder", "u-bob", ["user"]),
        ("root", "r00t-pass", "u-root", ["admin", "user"]),
    ]
    static let origin = "https://app.example.com"

    /// - Parameter auth: extra `[auth]` keys (each `key = value` on its own line).
    static func start(auth: String = "", localCache: Bool = false, store: String = "redis", single: Bool = false) async throws -> AuthPair {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sg-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let usersFile = directory.appendingPathComponent("users.htpasswd")
        // bcrypt entries made here, through the same libxcrypt `htpasswd -B` output is checked with (cost 4: fast).
        var lines = ["# made by the test"]
        for account in accounts { lines.append("\(account.name):\(try PasswordHash.hash(password: account.password, cost: 4))") }
        try lines.joined(separator: "\n").write(to: usersFile, atomically: true, encoding: .utf8)
        var toml = """
            [auth]
            users_file = "\(usersFile.path)"
            allowed_origins = ["\(origin)"]
            \(auth)

            """
        for account in accounts {
            toml += "\n[auth.users.\(account.name)]\nuser_id = \"\(account.id)\"\nroles = [\(account.roles.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        }
        return try await start(toml: toml, directory: directory, localCache: localCache, store: store, single: single)
    }

    static func start(toml: String, directory: URL, localCache: Bool = false, store: String = "redis", single: Bool = false) async throws -> AuthPair {
        let redis = try await RedisServer.start()
        var options = ProxyHarness.Options()
        options.redis = redis
        options.extraTOML = toml
        options.localCache = localCache
        options.store = store
        let a = try await ProxyHarness.start(options)
        let b = single ? a : try await ProxyHarness.start(options)
        return AuthPair(redis: redis, a: a, b: b, directory: directory)
    }

    private init(redis: RedisServer, a: ProxyHarness, b: ProxyHarness, directory: URL) {
        self.redis = redis
        self.a = a
        self.b = b
        self.directory = directory
    }

    func stop() async {
        await a.stop()
        if b !== a { await b.stop() }
        redis.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// One logged-in device: its token (sent as a cookie or as `X-Session-ID`) and what it sends along.
struct Device: Sendable {
    var token: String
    var address: String
    var userAgent: String

    /// Headers that authenticate with the cookie, as a browser on the allowed origin would send them.
    var cookieHeaders: [(String, String)] {
        [("Cookie", "session_id=\(token)"), ("Origin", AuthPair.origin), ("X-Forwarded-For", address), ("User-Agent", userAgent)]
    }

    /// Headers that authenticate with the session header, as an API client would.
    var headerHeaders: [(String, String)] {
        [("X-Session-ID", token), ("X-Forwarded-For", address), ("User-Agent", userAgent)]
    }
}

extension ProxyHarness {
    /// One request on a fresh connection.
    func send(_ method: String, _ uri: String, headers: [(String, String)] = [], body: String? = nil) async throws -> TestResponse {
        let client = try await TestHTTPClient.connect(port: port)
        defer { Task { await client.close() } }
        return try await client.request(method, uri, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    /// `POST /auth/login` with a JSON body.
    func login(
        _ user: String, _ password: String, address: String = "10.0.0.1", userAgent: String = "TestAgent/1",
        extraHeaders: [(String, String)] = []
    ) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["username": user, "password": password])
        return try await send(
            "POST", "/auth/login",
            headers: [("Content-Type", "application/json"), ("X-Forwarded-For", address), ("User-Agent", userAgent)] + extraHeaders,
            body: String(decoding: body, as: UTF8.self))
    }

    /// Logs in and returns the device, failing the test unless the login succeeded.
    func device(
        _ user: String, address: String = "10.0.0.1", userAgent: String = "TestAgent/1",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Device {
        let password = AuthPair.accounts.first { $0.name == user }?.password ?? ""
        let response = try await login(user, password, address: address, userAgent: userAgent)
        try #require(response.status == 200, "login of \(user): \(response.status) \(response.bodyString)", sourceLocation: sourceLocation)
        let token = try #require(try response.json()["token"] as? String, sourceLocation: sourceLocation)
        return Device(token: token, address: address, userAgent: userAgent)
    }

    /// Whether the device's session is accepted on a required route.
    func isValid(_ device: Device) async throws -> Bool {
        let status = try await send("GET", "/app/check", headers: device.headerHeaders).status
        #expect(status == 200 || status == 401, "unexpected \(status)")
        return status == 200
    }

    /// `GET /auth/sessions` for the device.
    func sessions(_ device: Device) async throws -> [[String: Any]] {
        let response = try await send("GET", "/auth/sessions", headers: device.headerHeaders)
        try #require(response.status == 200, "sessions: \(response.status) \(response.bodyString)")
        return try response.json()["sessions"] as? [[String: Any]] ?? []
    }
}

/// Polls `condition` until true or 5 s have passed (invalidations reach other instances asynchronously).
func authEventually(_ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return false
}
