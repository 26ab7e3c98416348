import Foundation
import Testing

@testable import SessionGate

/// Identity reaches upstreams only from the proxy: what a user checks first.
@Suite("Proxy identity forwarding")
struct IdentityForwardingTests {
    @Test func identityHeadersArriveForAValidSession() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login(user: "42", name: "alice", roles: ["admin", "user"])

        let response = try await harness.get("/app/orders?id=1", headers: [("X-Session-ID", token), ("Host", "shop.example")])

        #expect(response.status == 200)
        #expect(try response.upstreamHeader("X-User-ID") == ["42"])
        #expect(try response.upstreamHeader("X-User-Name") == ["alice"])
        #expect(try response.upstreamHeader("X-Roles") == ["admin,user"])
        #expect(try response.upstreamHeader("X-Forwarded-For") == ["127.0.0.1"])
        #expect(try response.upstreamHeader("X-Forwarded-Proto") == ["http"])
        #expect(try response.upstreamHeader("X-Forwarded-Host") == ["shop.example"])
        #expect(try response.upstreamHeader("X-Request-ID").first?.isEmpty == false)
        // The token itself never reaches the upstream.
        #expect(try response.upstreamHeader("X-Session-ID").isEmpty)
        #expect(try response.json()["uri"] as? String == "/app/orders?id=1")
    }

    @Test(arguments: ["/app/x", "/public/x", "/optional/x"])
    func spoofedIdentityHeadersNeverArrive(path: String) async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login(user: "7", name: "bob", roles: ["user"])
        let spoofed = [("X-User-ID", "1"), ("x-roles", "admin"), ("X-USER-NAME", "root"), ("X-Real-IP", "6.6.6.6")]

        // With a valid session, only the proxy's values arrive, once each.
        let withSession = try await harness.get(path, headers: spoofed + [("X-Session-ID", token)])
        #expect(withSession.status == 200)
        let expectedUser = path.hasPrefix("/public/") ? [] : ["7"]
        #expect(try withSession.upstreamHeader("X-User-ID") == expectedUser)
        #expect(try withSession.upstreamHeader("X-Roles") == (path.hasPrefix("/public/") ? [] : ["user"]))
        #expect(try withSession.upstreamHeader("X-User-Name") == (path.hasPrefix("/public/") ? [] : ["bob"]))
        #expect(try withSession.upstreamHeader("X-Real-IP") == ["127.0.0.1"])

        // Without one, none arrive (the required route refuses instead).
        let anonymous = try await harness.get(path, headers: spoofed)
        if path.hasPrefix("/app/") {
            #expect(anonymous.status == 401)
        } else {
            #expect(anonymous.status == 200)
            #expect(try anonymous.upstreamHeader("X-User-ID").isEmpty)
            #expect(try anonymous.upstreamHeader("X-Roles").isEmpty)
            #expect(try anonymous.upstreamHeader("X-User-Name").isEmpty)
        }
    }

    @Test func sessionCookieIsRemovedButOtherCookiesPass() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login()

        let response = try await harness.get("/app/", headers: [("Cookie", "theme=dark; session_id=\(token); lang=en")])

        #expect(response.status == 200)
        #expect(try response.upstreamHeader("Cookie") == ["theme=dark; lang=en"])
        #expect(try response.upstreamHeaders().allSatisfy { !$0.1.contains(token) })

        // Cookies joined with commas (as some gateways join two `Cookie` headers): the session is found there, so it
        // is taken out there too.
        let joined = try await harness.get("/app/", headers: [("Cookie", "theme=dark, session_id=\(token), lang=en")])
        #expect(joined.status == 200)
        #expect(try joined.upstreamHeader("X-User-ID").isEmpty == false)
        #expect(try joined.upstreamHeader("Cookie") == ["theme=dark, lang=en"])
        #expect(try joined.upstreamHeaders().allSatisfy { !$0.1.contains(token) })
    }

    @Test func forwardedForIsAppendedAndTrustedOnlyFromTrustedProxies() async throws {
        // 127.0.0.1 is a trusted proxy: the client is the address it forwarded.
        let trusting = try await ProxyHarness.start()
        defer { Task { await trusting.stop() } }
        let viaProxy = try await trusting.get("/public/", headers: [("X-Forwarded-For", "203.0.113.9")])
        #expect(try viaProxy.upstreamHeader("X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"])
        #expect(try viaProxy.upstreamHeader("X-Real-IP") == ["203.0.113.9"])

        // No trusted proxies: the claim is passed along but never believed.
        var options = ProxyHarness.Options()
        options.trustedProxies = "[]"
        let distrusting = try await ProxyHarness.start(options)
        defer { Task { await distrusting.stop() } }
        let direct = try await distrusting.get("/public/", headers: [("X-Forwarded-For", "203.0.113.9")])
        #expect(try direct.upstreamHeader("X-Forwarded-For") == ["203.0.113.9, 127.0.0.1"])
        #expect(try direct.upstreamHeader("X-Real-IP") == ["127.0.0.1"])
    }

    @Test func wellFormedRequestIDIsKeptAndOthersReplaced() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }

        let kept = try await harness.get("/public/", headers: [("X-Request-ID", "3f2b-11ee.abc:1")])
        #expect(try kept.upstreamHeader("X-Request-ID") == ["3f2b-11ee.abc:1"])

        let replaced = try await harness.get("/public/", headers: [("X-Request-ID", "has spaces <script>")])
        let id = try #require(try replaced.upstreamHeader("X-Request-ID").first)
        #expect(id != "has spaces <script>")
        #expect(RequestRewriter.isWellFormedRequestID(id))
    }

    @Test func hopByHopHeadersAreNotForwarded() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }

        let response = try await harness.get(
            "/public/", headers: [("Connection", "keep-alive, X-Private"), ("X-Private", "secret"), ("Keep-Alive", "timeout=5"),
                                  ("TE", "trailers"), ("X-Kept", "yes")])

        #expect(response.status == 200)
        for name in ["Connection", "X-Private", "Keep-Alive", "TE"] {
            #expect(try response.upstreamHeader(name).isEmpty, "\(name) was forwarded")
        }
        #expect(try response.upstreamHeader("X-Kept") == ["yes"])
    }

    @Test func upstreamConnectionsAreKeptAliveAndReused() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login()
        let client = try await TestHTTPClient.connect(port: harness.port)
        defer { Task { await client.close() } }

        for _ in 0..<10 {
            let response = try await client.request("GET", "/app/", headers: [("X-Session-ID", token)])
            #expect(response.status == 200)
        }

        #expect(client.isOpen)
        #expect(harness.upstream.requestsServed == 10)
        #expect(harness.upstream.connectionsAccepted == 1)
    }

    @Test func maxIdleZeroClosesUpstreamConnectionsAfterEachRequest() async throws {
        var options = ProxyHarness.Options()
        options.maxIdle = 0
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let client = try await TestHTTPClient.connect(port: harness.port)
        defer { Task { await client.close() } }

        for _ in 0..<5 {
            #expect(try await client.request("GET", "/public/").status == 200)
        }

        #expect(client.isOpen, "the client side stays kept alive")
        #expect(harness.upstream.connectionsAccepted == 5)
    }
}
