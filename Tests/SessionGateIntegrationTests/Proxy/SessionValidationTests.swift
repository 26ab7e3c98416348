import Foundation
import Testing

@testable import SessionGate

/// Validation, sliding refresh and absolute expiry against a real Redis.
@Suite("Proxy session validation")
struct SessionValidationTests {
    @Test func malformedIDsAreRefusedWithoutAnyRedisCommand() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let before = try harness.scriptCalls()
        let totalBefore = try harness.redis.commandCount("hmget") + harness.redis.commandCount("get")

        for bad in ["short", String(repeating: "a", count: 52), "zzzzzzzz" + String(repeating: "A", count: 43), "../../etc/passwd"] {
            let viaHeader = try await harness.get("/app/", headers: [("X-Session-ID", bad)])
            #expect(viaHeader.status == 401)
            #expect(viaHeader.errorCode == "unauthorized")
            let viaCookie = try await harness.get("/app/", headers: [("Cookie", "session_id=\(bad)")])
            #expect(viaCookie.status == 401)
        }

        #expect(try harness.scriptCalls() == before)
        #expect(try harness.redis.commandCount("hmget") + harness.redis.commandCount("get") == totalBefore)
        #expect(harness.upstream.requestsServed == 0)
    }

    @Test func redisTTLRightAfterARequestEqualsTheIdleTimeout() async throws {
        var options = ProxyHarness.Options()
        options.idleTimeout = "60s"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let token = try await harness.login()
        let key = harness.sessionKey(token)
        // Let the TTL run down, then show that one request moves it back to idle_timeout.
        _ = try harness.redis.command("PEXPIRE", key, "10000")

        let response = try await harness.get("/app/", headers: [("X-Session-ID", token)])

        #expect(response.status == 200)
        let ttl = try #require(Int(try harness.redis.command("PTTL", key)))
        // Back near 60 s, never beyond; the lower bound is loose for a loaded machine, yet far above the 10 s it had.
        #expect(ttl > 50_000 && ttl <= 60_000, "PTTL was \(ttl) ms")
        // The raw token is in no key and no value.
        #expect(!key.contains(token))
        #expect(try !harness.redis.command("HGETALL", key).contains(token))
    }

    @Test func aSessionDiesAtTheAbsoluteTimeoutHoweverActive() async throws {
        var options = ProxyHarness.Options()
        options.idleTimeout = "1m"
        options.absoluteTimeout = "2s"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        // Taken before the login: the absolute expiry counts from the session's creation, so a login slowed by a
        // loaded machine must not make the session look refused early.
        let started = ContinuousClock.now
        let token = try await harness.login()
        // The session was created before the login returned: its absolute expiry is at most 2 s after this.
        let loggedIn = ContinuousClock.now - started
        let key = harness.sessionKey(token)

        // Judged by when each request was sent and answered, not by how often the loop got round: on a loaded
        // machine one request can take seconds, which says nothing about the proxy's decision.
        var lastSuccess = Duration.zero
        var firstRefusal: Duration?
        var refusals = 0
        // Until three refusals in a row were seen (a refused session must stay refused), or a generous deadline.
        while refusals < 3 && ContinuousClock.now - started < loggedIn + .seconds(10) {
            let sentAt = ContinuousClock.now - started
            let response = try await harness.get("/app/", headers: [("X-Session-ID", token)])
            let answeredAt = ContinuousClock.now - started
            if response.status == 200 {
                #expect(firstRefusal == nil, "a refused session came back")
                // Sent after the absolute expiry (at most 2 s after the login returned) plus a margin: never served.
                #expect(sentAt < loggedIn + .milliseconds(2_300), "served a request sent at \(sentAt), logged in at \(loggedIn)")
                lastSuccess = answeredAt
                // The TTL never outlives the absolute lifetime.
                if let ttl = Int(try harness.redis.command("PTTL", key)), ttl > 0 { #expect(ttl <= 2_000) }
            } else {
                #expect(response.status == 401)
                // Answered before the absolute expiry: must not be refused.
                #expect(answeredAt >= .milliseconds(1_900), "refused at \(answeredAt), before the absolute expiry")
                if firstRefusal == nil { firstRefusal = answeredAt }
                refusals += 1
            }
            try await Task.sleep(for: .milliseconds(200))
        }

        // Loose: one request can stall for a second on a loaded machine.
        #expect(lastSuccess > .milliseconds(500), "the session should work while it lives")
        #expect(firstRefusal != nil, "the session was never refused")
    }

    @Test func anUnusedSessionExpiresAfterTheIdleTimeout() async throws {
        var options = ProxyHarness.Options()
        // 3 s, not less: on a loaded machine the first request after login can take a second or more.
        options.idleTimeout = "3s"
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let token = try await harness.login()

        #expect(try await harness.get("/app/", headers: [("X-Session-ID", token)]).status == 200)
        try await Task.sleep(for: .milliseconds(3_500))

        let response = try await harness.get("/app/", headers: [("Cookie", "session_id=\(token)")])
        #expect(response.status == 401)
        #expect(response.headers(named: "Set-Cookie").contains { $0.hasPrefix("session_id=;") && $0.contains("Max-Age=0") })
    }

    @Test func revokedSessionsAreRefused() async throws {
        let harness = try await ProxyHarness.start()
        defer { Task { await harness.stop() } }
        let first = try await harness.login(user: "9")
        let second = try await harness.login(user: "9")
        let other = try await harness.login(user: "10")

        #expect(try await harness.store.revokeAll(userID: "9") == 2)

        #expect(try await harness.get("/app/", headers: [("X-Session-ID", first)]).status == 401)
        #expect(try await harness.get("/app/", headers: [("X-Session-ID", second)]).status == 401)
        #expect(try await harness.get("/app/", headers: [("X-Session-ID", other)]).status == 200)
    }
}
