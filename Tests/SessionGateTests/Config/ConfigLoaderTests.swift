import Foundation
import NIOCore
import Testing

@testable import SessionGate

/// Helpers shared by the configuration suites: a minimal valid tail and a way to collect the problems of a file.
enum ConfigFixture {
    /// The smallest valid file: one upstream and one route (7 lines). Tests put their own section in front of it, so
    /// the lines of that section are numbered from 1.
    static let tail = """
        [[upstream]]
        name = "app"
        servers = ["127.0.0.1:9001"]

        [[route]]
        path = "/"
        upstream = "app"
        """

    /// `section` followed by ``tail``.
    static func withTail(_ section: String) -> String { section + "\n\n" + tail }

    /// Every problem reported for `text`, printed so a reader of the test log sees the messages.
    /// Records an issue when the text is accepted.
    static func problems(in text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
        guard let problems = collect(text, sourceLocation: sourceLocation) else {
            Issue.record("the configuration was accepted, but problems were expected", sourceLocation: sourceLocation)
            return []
        }
        return problems
    }

    /// The single problem reported for `text`; fails the test when there is not exactly one.
    static func onlyProblem(in text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> ConfigProblem {
        let all = try #require(
            collect(text, sourceLocation: sourceLocation), "the configuration was accepted, but one problem was expected",
            sourceLocation: sourceLocation)
        try #require(all.count == 1, "expected exactly one problem, got \(all)", sourceLocation: sourceLocation)
        return all[0]
    }

    /// The problems, or nil when the text is accepted.
    private static func collect(_ text: String, sourceLocation: SourceLocation) -> [ConfigProblem]? {
        do {
            _ = try ConfigLoader.parse(text, file: "test.conf")
            return nil
        } catch let error as ConfigurationError {
            print(error)
            return error.problems
        } catch {
            Issue.record("expected a ConfigurationError, got \(error)", sourceLocation: sourceLocation)
            return []
        }
    }
}

@Suite("ConfigLoader: valid files")
struct ConfigLoaderTests {
    static let example = """
        # SessionGate: every key, none at its default.
        [server]
        listen = "0.0.0.0:8443"
        trusted_proxies = ["10.0.0.0/8", "192.168.1.7", "fd00::/8"]
        threads = 3

        [session]
        store = "memory"
        cookie_name = "sg_session"
        header_name = "X-Session-Token"
        idle_timeout = "15m"
        absolute_timeout = "12h"
        cookie_secure = false
        cookie_same_site = "Strict"
        cookie_path = "/app"
        cookie_domain = "example.com"

        [redis]
        mode = "standalone"
        address = "[::1]:6380"
        key_prefix = "shop:"
        connections = 4
        timeout = "250ms"
        username = "proxy"
        password = "s3cret"
        database = 3

        [identity]
        user_id_header = "X-Auth-User"
        roles_header = "X-Auth-Roles"
        user_name_header = "X-Auth-Name"

        [[upstream]]
        name = "api"
        servers = ["10.0.0.5:9000", "api.internal:9001", "[2001:db8::7]:80"]
        balance = "round_robin"
        connect_timeout = "1500ms"
        response_timeout = "1h30m"

        [[upstream]]
        name = "web"
        servers = ["127.0.0.1:3000"]

        [[route]]
        path = "/api/"
        upstream = "api"
        auth = "required"
        roles = ["admin", "ops"]

        [[route]]
        path = "/static/"
        upstream = "web"
        auth = "public"

        [[route]]
        path = "/"
        upstream = "web"
        auth = "optional"
        """

    @Test func fullExampleParsesIntoTypedValues() throws {
        let configuration = try ConfigLoader.parse(Self.example)

        let server = configuration.server
        #expect(server.listen == HostPort(host: "0.0.0.0", port: 8443))
        #expect(server.trustedProxies == [CIDR("10.0.0.0/8"), CIDR("192.168.1.7/32"), CIDR("fd00::/8")].compactMap { $0 })
        #expect(server.trustedProxies.map(\.description) == ["10.0.0.0/8", "192.168.1.7/32", "fd00:0:0:0:0:0:0:0/8"])
        #expect(server.threads == 3)

        let session = configuration.session
        #expect(session.store == .memory)
        #expect(session.cookieName == "sg_session")
        #expect(session.headerName == "X-Session-Token")
        #expect(session.idleTimeout == .minutes(15))
        #expect(session.absoluteTimeout == .hours(12))
        #expect(session.cookieSecure == false)
        #expect(session.cookieSameSite == .strict)
        #expect(session.cookiePath == "/app")
        #expect(session.cookieDomain == "example.com")

        let redis = configuration.redis
        #expect(redis.mode == .standalone)
        #expect(redis.address == HostPort(host: "::1", port: 6380))
        #expect(redis.keyPrefix == "shop:")
        #expect(redis.connections == 4)
        #expect(redis.timeout == .milliseconds(250))
        #expect(redis.username == "proxy")
        #expect(redis.password == "s3cret")
        #expect(redis.database == 3)

        #expect(configuration.identity.userIDHeader == "X-Auth-User")
        #expect(configuration.identity.rolesHeader == "X-Auth-Roles")
        #expect(configuration.identity.userNameHeader == "X-Auth-Name")

        try #require(configuration.upstreams.count == 2)
        let api = configuration.upstreams[0]
        #expect(api.name == "api")
        #expect(api.servers == [
            HostPort(host: "10.0.0.5", port: 9000), HostPort(host: "api.internal", port: 9001),
            HostPort(host: "2001:db8::7", port: 80),
        ])
        #expect(api.servers.map(\.description) == ["10.0.0.5:9000", "api.internal:9001", "[2001:db8::7]:80"])
        #expect(api.balance == .roundRobin)
        #expect(api.connectTimeout == .milliseconds(1500))
        #expect(api.responseTimeout == .minutes(90))
        #expect(configuration.upstreams[1].name == "web")
        #expect(configuration.upstreams[1].servers == [HostPort(host: "127.0.0.1", port: 3000)])

        try #require(configuration.routes.count == 3)
        let routes = configuration.routes
        #expect(routes.map(\.path) == ["/api/", "/static/", "/"])
        #expect(routes.map(\.upstream) == ["api", "web", "web"])
        #expect(routes.map(\.auth) == [.required, .public, .optional])
        #expect(routes[0].roles == ["admin", "ops"])
        #expect(routes[1].roles.isEmpty)
    }

    @Test(arguments: [
        ("500ms", TimeAmount.milliseconds(500)), ("30s", .seconds(30)), ("30m", .minutes(30)), ("24h", .hours(24)),
        ("7d", .hours(168)), ("1h30m", .minutes(90)),
    ])
    func durationsBecomeTimeAmounts(text: String, expected: TimeAmount) throws {
        let configuration = try ConfigLoader.parse(ConfigFixture.withTail("[redis]\ntimeout = \"\(text)\""))
        #expect(configuration.redis.timeout == expected)
    }

    @Test func omittedSectionsTakeTheirDefaults() throws {
        let configuration = try ConfigLoader.parse(ConfigFixture.tail)

        #expect(configuration.server.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(configuration.server.trustedProxies.isEmpty)
        #expect(configuration.server.threads == System.coreCount)

        let session = configuration.session
        #expect(session.store == .redis)
        #expect(session.cookieName == "session_id")
        #expect(session.headerName == "X-Session-ID")
        #expect(session.idleTimeout == .minutes(30))
        #expect(session.absoluteTimeout == .hours(24))
        #expect(session.cookieSecure == true)
        #expect(session.cookieSameSite == .lax)
        #expect(session.cookiePath == "/")
        #expect(session.cookieDomain == nil)

        let redis = configuration.redis
        #expect(redis.mode == .standalone)
        #expect(redis.address == HostPort(host: "127.0.0.1", port: 6379))
        #expect(redis.keyPrefix == "sg:")
        #expect(redis.connections == 2)
        #expect(redis.timeout == .milliseconds(500))
        #expect(redis.username == nil)
        #expect(redis.password == nil)
        #expect(redis.database == 0)

        #expect(configuration.identity.allHeaders == ["X-User-ID", "X-Roles", "X-User-Name"])

        let upstream = try #require(configuration.upstreams.first)
        #expect(upstream.balance == .roundRobin)
        #expect(upstream.connectTimeout == .seconds(2))
        #expect(upstream.responseTimeout == .seconds(30))

        let route = try #require(configuration.routes.first)
        #expect(route.auth == .required)
        #expect(route.roles.isEmpty)
    }

    @Test func emptySectionsAlsoTakeTheirDefaults() throws {
        let configuration = try ConfigLoader.parse(ConfigFixture.withTail("[server]\n[session]\n[redis]\n[identity]"))
        #expect(configuration.session.cookieName == "session_id")
        #expect(configuration.redis.address == HostPort(host: "127.0.0.1", port: 6379))
        #expect(configuration.identity.userIDHeader == "X-User-ID")
    }

    /// The repository's `proxy.conf.example`, found from this file's path.
    static let shippedExample = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("proxy.conf.example").path

    @Test func shippedExampleIsValid() throws {
        let configuration = try ConfigLoader.load(path: Self.shippedExample)
        #expect(configuration.server.listen == HostPort(host: "127.0.0.1", port: 8080))
        #expect(configuration.server.trustedProxies == [CIDR("127.0.0.1/32")].compactMap { $0 })
        #expect(configuration.server.threads == 2)
        #expect(configuration.session.store == .redis)
        #expect(configuration.session.idleTimeout == .minutes(30))
        #expect(configuration.session.absoluteTimeout == .hours(24))
        #expect(configuration.session.cookieSameSite == .lax)
        #expect(configuration.session.cookieDomain == nil, "commented out")
        #expect(configuration.redis.timeout == .milliseconds(500))
        #expect(configuration.redis.username == nil, "commented out")
        #expect(configuration.upstreams.map(\.name) == ["app"])
        #expect(configuration.upstreams.first?.responseTimeout == .seconds(30))
        #expect(configuration.routes.map(\.path) == ["/api/admin/", "/api/", "/"])
        #expect(configuration.routes.map(\.auth) == [.required, .required, .public])
        #expect(configuration.routes.first?.roles == ["admin"])
        #expect(configuration.auth?.prefix == "/auth")
    }

    @Test func typoInTheShippedExampleIsReportedOnItsLine() throws {
        let text = try String(contentsOfFile: Self.shippedExample, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let index = try #require(lines.firstIndex { $0.hasPrefix("cookie_name = ") })
        let problem = try ConfigFixture.onlyProblem(in: text.replacingOccurrences(of: "\ncookie_name = ", with: "\ncokie_name = "))
        #expect(problem.key == "session.cokie_name")
        #expect(problem.line == index + 1)
        #expect(problem.message.contains(#"did you mean "cookie_name""#))
    }

    @Test func loadReadsAFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sessiongate-\(UUID().uuidString).conf").path
        try ConfigFixture.withTail("[server]\nlisten = \"127.0.0.1:9999\"").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }

        let configuration = try ConfigLoader.load(path: path)
        #expect(configuration.server.listen == HostPort(host: "127.0.0.1", port: 9999))
    }

    @Test func loadingAMissingFileIsAClearProblem() throws {
        let path = "/nonexistent-\(UUID().uuidString)/proxy.conf"
        let error = try #require(throws: ConfigurationError.self) { try ConfigLoader.load(path: path) }
        print(error)
        #expect(error.file == path)
        let problem = try #require(error.problems.first)
        #expect(error.problems.count == 1)
        #expect(problem.key == "(file)")
        #expect(problem.line == nil)
        #expect(problem.message.hasPrefix("cannot be read"))
        #expect(error.description.contains(path))
    }

    @Test func errorDescriptionNamesFileLineKeyAndMessage() throws {
        let text = ConfigFixture.withTail("[session]\ncokie_name = \"sid\"\n[[route]]\npath = \"/x/\"\nupstream = \"app\"\nauth = \"sometimes\"")
        let error = try #require(throws: ConfigurationError.self) { try ConfigLoader.parse(text, file: "proxy.conf") }
        print(error)
        let lines = error.description.split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        #expect(lines[0] == "proxy.conf: 2 configuration problems")
        #expect(lines[1].hasPrefix("  proxy.conf:2: session.cokie_name: unknown key (did you mean \"cookie_name\"?)"))
        #expect(lines[2] == "  proxy.conf:6: route[0].auth: \"sometimes\" is not allowed (expected one of: \"required\", \"optional\", \"public\")")
        #expect(error.problems[0].description.hasPrefix("line 2: session.cokie_name: unknown key"))
    }
}
