import Testing

@testable import SessionGate

@Suite("RouteTable")
struct RouteTableTests {
    static let upstreams = [
        UpstreamConfiguration(name: "web", servers: [HostPort(host: "127.0.0.1", port: 3000)]),
        UpstreamConfiguration(name: "api", servers: [HostPort(host: "127.0.0.1", port: 4000)]),
        UpstreamConfiguration(name: "admin", servers: [HostPort(host: "127.0.0.1", port: 5000)]),
    ]

    /// Declared shortest first, so that only sorting by length can make the longest win.
    static let table = RouteTable(
        routes: [
            RouteConfiguration(path: "/", upstream: "web", auth: .optional),
            RouteConfiguration(path: "/api/", upstream: "api"),
            RouteConfiguration(path: "/api/admin/", upstream: "admin", roles: ["admin"]),
            RouteConfiguration(path: "/public/", upstream: "web", auth: .public),
        ],
        upstreams: upstreams)

    @Test(arguments: [
        ("/api/admin/users", "/api/admin/"), ("/api/admin/", "/api/admin/"), ("/api/orders", "/api/"),
        ("/api/", "/api/"), ("/api", "/"), ("/apiary", "/"), ("/", "/"), ("/public/logo.png", "/public/"),
        ("/somewhere/else", "/"),
    ])
    func longestPrefixWins(uri: String, expected: String) {
        #expect(Self.table.match(uri)?.path == expected)
        // The proxy matches the target's bytes as received.
        var target = uri
        #expect(target.withUTF8 { Self.table.match(target: $0) }?.path == expected)
    }

    @Test func matchCarriesTheRouteRules() throws {
        let admin = try #require(Self.table.match("/api/admin/x"))
        #expect(admin.upstreamIndex == 2)
        #expect(admin.auth == .required)
        #expect(admin.roles == ["admin"])
        let home = try #require(Self.table.match("/index.html"))
        #expect(home.upstreamIndex == 0)
        #expect(home.auth == .optional)
        #expect(Self.table.match("/public/x")?.auth == .public)
    }

    @Test(arguments: [
        ("/api/orders?next=/api/admin/", "/api/"), ("/api?x=/api/admin/", "/"), ("/api/admin?x=1", "/api/"),
        ("/api/admin/?x=1", "/api/admin/"), ("/api/x#/api/admin/", "/api/"),
    ])
    func queryStringIsIgnored(uri: String, expected: String) {
        #expect(Self.table.match(uri)?.path == expected)
    }

    @Test func noMatchIsNil() {
        let table = RouteTable(routes: [RouteConfiguration(path: "/api/", upstream: "api")], upstreams: Self.upstreams)
        #expect(table.match("/api/x") != nil)
        #expect(table.match("/other") == nil)
        #expect(table.match("/api") == nil)
        #expect(table.match("/API/x") == nil)
        #expect(table.match("") == nil)
        #expect(table.match("*") == nil)
        #expect(table.match("http://example.com/api/x") == nil)
        #expect(RouteTable(routes: [], upstreams: Self.upstreams).match("/") == nil)
    }
}
