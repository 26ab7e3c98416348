import Foundation
import Testing

@testable import SessionGate

/// The near-cache as a user of the proxy sees it: hits cost no Redis command, revocation still refuses at once.
@Suite("Proxy with the near-cache")
struct NearCacheProxyTests {
    @Test func cachedSessionsCostNoRedisCommandsAndRevocationStillRefuses() async throws {
        var options = ProxyHarness.Options()
        options.localCache = true
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let token = try await harness.login(user: "77")
        let client = try await TestHTTPClient.connect(port: harness.port)
        defer { Task { await client.close() } }

        // The cache turns on once the invalidation connection is subscribed; until then requests read through.
        let deadline = ContinuousClock.now + .seconds(5)
        var cached = false
        while !cached && ContinuousClock.now < deadline {
            #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", token)]).status == 200)
            let before = try harness.scriptCalls()
            #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", token)]).status == 200)
            cached = try harness.scriptCalls() == before
        }
        try #require(cached, "the session was never served from the near-cache")

        let before = try harness.scriptCalls()
        for _ in 0..<200 {
            let response = try await client.request("GET", "/app/", headers: [("X-Session-ID", token)])
            #expect(response.status == 200)
            #expect(try response.upstreamHeader("X-User-ID") == ["77"])
        }
        #expect(try harness.scriptCalls() - before <= 10, "200 cached requests should cost almost no Redis scripts")

        // Revoked from outside (as `sessiongate session revoke` does): refused through the proxy right away.
        _ = try harness.redis.command("DEL", harness.sessionKey(token))
        var refused = false
        let revokeDeadline = ContinuousClock.now + .milliseconds(500)
        while !refused && ContinuousClock.now < revokeDeadline {
            refused = try await client.request("GET", "/app/", headers: [("X-Session-ID", token)]).status == 401
        }
        #expect(refused, "a deleted session must be refused once Redis invalidates it")
    }

    /// One connection keeps what it worked out from the token it presented last (the near-cache fingerprint with the
    /// cache on, the Redis key with it off): tokens of two users alternating on one keep-alive connection are each
    /// forwarded as their own user, a malformed or revoked one is refused in between, and the remembered token is
    /// refused once it is revoked, whatever the connection remembered.
    @Test(arguments: [true, false])
    func tokensAlternatingOnOneConnectionAreEachTheirOwnUser(localCache: Bool) async throws {
        var options = ProxyHarness.Options()
        options.localCache = localCache
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop() } }
        let alice = try await harness.login(user: "alice")
        let bob = try await harness.login(user: "bob")
        let revoked = try await harness.login(user: "carol")
        _ = try harness.redis.command("DEL", harness.sessionKey(revoked))
        let client = try await TestHTTPClient.connect(port: harness.port)
        defer { Task { await client.close() } }

        for round in 0..<20 {
            for (token, user) in [(alice, "alice"), (alice, "alice"), (bob, "bob"), (alice, "alice"), (bob, "bob")] {
                let response = try await client.request("GET", "/app/", headers: [("X-Session-ID", token)])
                #expect(response.status == 200, "round \(round)")
                #expect(try response.upstreamHeader("X-User-ID") == [user], "round \(round)")
            }
            #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", revoked)]).status == 401)
            let forged = String(alice.dropLast()) + (alice.hasSuffix("A") ? "E" : "A")
            #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", forged)]).status == 401)
        }

        // The connection's last token, revoked from outside: refused on that connection (at once without the cache;
        // with it, once Redis's invalidation arrives).
        #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", bob)]).status == 200)
        _ = try harness.redis.command("DEL", harness.sessionKey(bob))
        var refused = false
        let deadline = ContinuousClock.now + .milliseconds(500)
        repeat {
            refused = try await client.request("GET", "/app/", headers: [("X-Session-ID", bob)]).status == 401
        } while !refused && ContinuousClock.now < deadline
        #expect(refused, "a revoked session must be refused on the connection that presented it last")
        #expect(try await client.request("GET", "/app/", headers: [("X-Session-ID", alice)]).status == 200)
    }
}
