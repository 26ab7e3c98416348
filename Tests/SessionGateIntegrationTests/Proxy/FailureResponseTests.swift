import Foundation
import NIOCore
import Testing

@testable import SessionGate

/// Every failure answers with the right status and a JSON body `{"error", "message"}`; never a 500.
@Suite("Proxy failure responses")
struct FailureResponseTests {
    private func expectJSONError(_ response: TestResponse, status: Int, error: String) throws {
        #expect(response.status == status, "body: \(response.bodyString)")
        #expect(response.header("Content-Type") == "application/json")
        let json = try response.json()
        #expect(json["error"] as? String == error)
        #expect((json["message"] as? String)?.isEmpty == false)
        #expect(Set(json.keys) == ["error", "message"])
    }

    @Test func missingSessionIs401WithoutClearingACookieThatWasNotSent() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let response = try await harness.get("/app/")
        try expectJSONError(response, status: 401, error: "unauthorized")
        #expect(response.headers(named: "Set-Cookie").isEmpty)
        #expect(harness.upstream.requestsServed == 0)
    }

    @Test func unknownSessionCookieIs401AndClearsTheCookie() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let unknown = "0123abcd" + String(repeating: "Q", count: 43)
        let response = try await harness.get("/app/", headers: [("Cookie", "session_id=\(unknown)")])
        try expectJSONError(response, status: 401, error: "unauthorized")
        let cookie = try #require(response.headers(named: "Set-Cookie").first)
        #expect(cookie.hasPrefix("session_id=;"))
        #expect(cookie.contains("Max-Age=0"))
        #expect(cookie.contains("HttpOnly"))
    }

    @Test func missingRoleIs403() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login(roles: ["user"])
        try expectJSONError(try await harness.get("/admin/users", headers: [("X-Session-ID", token)]), status: 403, error: "forbidden")
        let admin = try await harness.login(roles: ["user", "admin"])
        #expect(try await harness.get("/admin/users", headers: [("X-Session-ID", admin)]).status == 200)
        #expect(harness.upstream.requestsServed == 1)
    }

    @Test func noRouteIs404() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        try expectJSONError(try await harness.get("/nowhere"), status: 404, error: "not_found")
        // A prefix must match from the start of the path: "/apps" is not under "/app/".
        try expectJSONError(try await harness.get("/apps"), status: 404, error: "not_found")
    }

    @Test func refusedUpstreamIs502() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        try expectJSONError(try await harness.get("/dead/x"), status: 502, error: "bad_gateway")
    }

    @Test func upstreamDroppingTheConnectionIs502() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        try expectJSONError(try await harness.get("/public/drop"), status: 502, error: "bad_gateway")
    }

    @Test func slowUpstreamIs504AfterTheResponseTimeout() async throws {
        var options = ProxyHarness.Options()
        options.responseTimeout = "300ms"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let started = ContinuousClock.now
        // The upstream would answer 200 after a minute: a 504 can only come from the proxy's timer, however slow a
        // loaded machine makes this test (no upper bound on the clock, which a busy CI machine once broke).
        let response = try await harness.get("/public/slow?ms=60000")
        try expectJSONError(response, status: 504, error: "gateway_timeout")
        // Not before the timeout either: delays only make this longer.
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        // A fast answer on the same route still works.
        #expect(try await harness.get("/public/slow?ms=10").status == 200)
    }

    @Test func theResponseTimeoutRunsFromEachRequestOnAKeptAliveConnection() async throws {
        // One timer serves a connection's requests: armed by the first, it must re-arm for the second rather than
        // cut it short, and still fire for a later request that is too slow.
        // The second request ends 2.3 s after the first was sent, past a timer left from the first (2 s), yet 1 s
        // inside its own: margins a loaded machine does not eat. The third can only get its 504 from the timer.
        var options = ProxyHarness.Options()
        options.responseTimeout = "2s"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let client = try await TestHTTPClient.connect(port: harness.port)

        #expect(try await client.request("/public/slow?ms=10").status == 200)
        try await Task.sleep(for: .milliseconds(1_300))
        #expect(try await client.request("/public/slow?ms=1000").status == 200)
        let started = ContinuousClock.now
        try expectJSONError(try await client.request("/public/slow?ms=60000"), status: 504, error: "gateway_timeout")
        #expect(ContinuousClock.now - started >= .seconds(2))
        await client.close()
    }

    @Test func redisDownIs503WithRetryAfterAndNothingIsForwarded() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let token = try await harness.login()
        #expect(try await harness.get("/app/", headers: [("X-Session-ID", token)]).status == 200)

        harness.redis.kill()

        for path in ["/app/", "/admin/", "/optional/"] {
            let response = try await harness.get(path, headers: [("X-Session-ID", token)])
            try expectJSONError(response, status: 503, error: "session_store_unavailable")
            #expect(response.header("Retry-After") != nil)
        }
        #expect(harness.upstream.requestsServed == 1, "no request may pass while Redis is down")
        // Public routes do not need Redis.
        #expect(try await harness.get("/public/").status == 200)
    }

    @Test(arguments: ["/public/../admin/x", "/public/%2E%2e/admin/", "/public/./x", "//admin/x", "/public/a%2Fb", "/public\\..\\admin"])
    func ambiguousPathsAre400AndNeverForwarded(path: String) async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        try expectJSONError(try await harness.get(path), status: 400, error: "bad_request")
        #expect(harness.upstream.requestsServed == 0)
    }

    @Test func malformedHTTPIs400() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let answer = try await TestHTTPClient.sendRaw(port: harness.port, "GARBAGE\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 400"), "got: \(answer)")
        #expect(answer.contains("\"error\":\"bad_request\""))
    }

    /// Heads the proxy's parser refuses, each with the status nginx gives it; none reaches the upstream, and the
    /// smuggling attempt's second request is never served either.
    static let refusedHeads: [(String, Int, String)] = [
        ("POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
         400, "bad_request"),
        ("POST /public/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400, "bad_request"),
        ("GET /public/x HTTP/1.1\r\n\r\n", 400, "bad_request"),
        ("GET /public/x HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400, "bad_request"),
        ("POST /public/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "not_implemented"),
        ("GET /public/x HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http_version_not_supported"),
        ("GET /public/x HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 70_000) + "\r\n\r\n",
         431, "request_header_fields_too_large"),
    ]

    @Test(arguments: refusedHeads)
    func refusedHeadsGetTheirStatusAndAreNeverForwarded(_ request: String, _ status: Int, _ error: String) async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let answer = try await TestHTTPClient.sendRaw(port: harness.port, request)
        #expect(answer.hasPrefix("HTTP/1.1 \(status) "), "got: \(answer.prefix(200))")
        #expect(answer.contains("\"error\":\"\(error)\""), "got: \(answer.prefix(300))")
        #expect(answer.contains("Connection: close"), "the connection is closed after a refused head")
        let statusLines = answer.matches(of: /HTTP\/1\.1 \d{3}/).count
        #expect(statusLines == 1, "exactly one answer: \(answer.prefix(400))")
        #expect(harness.upstream.requestsServed == 0)
    }
}
