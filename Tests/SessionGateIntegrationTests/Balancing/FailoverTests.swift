import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import SessionGate

extension BalancingProxyTests {
    /// Health, failover and retries with real upstreams that are stopped and started again.
    @Suite("Balancing: failover")
    struct FailoverTests {
        @Test func stoppingAServerUnderLoadMovesOnlyItsSessionsAndTheyReturnAfterTheHealthCheck() async throws {
            let group = try await UpstreamGroup.start(3)
            var options = ProxyHarness.Options()
            // A high load factor: this test is about failover, so bounded loads must not move sessions under the burst
            // of four concurrent clients (bounded loads have their own unit tests). A long fail_timeout: the server can
            // only come back through the health check.
            options.appUpstream = """
                \(group.serversTOML)
                balance = "consistent_hash"
                hash_key = "session"
                hash_balance_factor = 50
                max_fails = 1
                fail_timeout = "60s"
                retries = 1
                health_check = {path = "/healthz", interval = "200ms", timeout = "500ms", healthy = 2, unhealthy = 1}
                """
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await group.stopAll() } }

            var tokens: [String] = []
            var home: [Int] = []
            for user in 0..<24 {
                let token = try await harness.login(user: "u\(user)")
                tokens.append(token)
                home.append(try await harness.get("/app/x", headers: [("X-Session-ID", token)]).upstreamPort)
            }
            let victim = try #require(group.ports.firstIndex(of: home[0]))
            let victimPort = group.ports[victim]
            let moved = Set(home.indices.filter { home[$0] == victimPort })
            #expect(moved.count < tokens.count, "some sessions live elsewhere")
            // Where the ring sends the victim's keys while it is down: the next server clockwise.
            let ring = ConsistentHashRing(servers: group.ringNames.map { ($0, 1) })
            let next = tokens.map { group.ports[ring.server(for: StableHash.hash($0), accept: { $0 != victim })!] }

            // Four clients on kept-alive connections, each sending a request every few milliseconds; the victim stops
            // while they run.
            let sessionTokens = tokens
            let results = NIOLockedValueBox<[(session: Int, port: Int, status: Int)]>([])
            let running = NIOLockedValueBox(true)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for worker in 0..<4 {
                    tasks.addTask {
                        let client = try await TestHTTPClient.connect(port: harness.port)
                        var index = worker
                        while running.withLockedValue({ $0 }) {
                            let session = index % sessionTokens.count
                            let response = try await client.request(
                                "/app/load", headers: [("X-Session-ID", sessionTokens[session])])
                            results.withLockedValue { $0.append((session, response.upstreamPort, response.status)) }
                            index += 4
                            // Steady rather than flat out: the other suites' timing checks share the machine.
                            try await Task.sleep(for: .milliseconds(5))
                        }
                        await client.close()
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                await group.stop(victim)
                try await Task.sleep(for: .milliseconds(1_000))
                running.withLockedValue { $0 = false }
                try await tasks.waitForAll()
            }
            let seen = results.withLockedValue { $0 }
            #expect(seen.count > 40, "the load ran: \(seen.count) requests")
            #expect(seen.allSatisfy { $0.status == 200 }, "no client saw an error")
            for (session, port, _) in seen {
                if moved.contains(session) {
                    #expect(port == victimPort || port == next[session])
                } else {
                    #expect(port == home[session], "session \(session) did not live on the stopped server and must stay")
                }
            }

            // Down: exactly the victim's sessions are elsewhere, each on its next ring server.
            for (session, token) in tokens.enumerated() {
                let response = try await harness.get("/app/x", headers: [("X-Session-ID", token)])
                #expect(response.status == 200)
                #expect(response.upstreamPort == (moved.contains(session) ? next[session] : home[session]))
            }

            // Back on the same port: once the health check has passed twice, every session is home again.
            try await group.restart(victim)
            let firstMoved = tokens[moved.first!]
            var back = false
            for _ in 0..<100 where !back {
                try await Task.sleep(for: .milliseconds(100))
                back = try await harness.get("/app/x", headers: [("X-Session-ID", firstMoved)]).upstreamPort == victimPort
            }
            #expect(back, "the stopped server's sessions return after it passes its health check")
            for (session, token) in tokens.enumerated() {
                #expect(try await harness.get("/app/x", headers: [("X-Session-ID", token)]).upstreamPort == home[session])
            }
            // A slot is given back just after the response's last bytes are written: allow the proxy a moment.
            #expect(await harness.appInFlightSettles(to: [0, 0, 0]), "every attempt, failed or retried, gave its slot back")
        }

        @Test func aPostThatReachedAServerIsNotRetriedButAGetIs() async throws {
            let group = try await UpstreamGroup.start(2)
            var options = ProxyHarness.Options()
            options.appUpstream = "\(group.serversTOML)\nretries = 1\nmax_fails = 0"
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await group.stopAll() } }
            let client = try await TestHTTPClient.connect(port: harness.port)

            var body = ByteBuffer()
            body.writeString("order=1")
            let post = try await client.request("POST", "/public/drop", body: body)
            #expect(post.status == 502)
            #expect(post.errorCode == "bad_gateway")
            #expect(group.requestsReceived == 1, "the POST reached one server once and was not sent again")

            let client2 = try await TestHTTPClient.connect(port: harness.port)
            let get = try await client2.request("GET", "/public/drop")
            #expect(get.status == 502)
            #expect(group.requestsReceived == 3, "the GET was tried on both servers")
            #expect(await harness.appInFlightSettles(to: [0, 0]))
            await client.close()
            await client2.close()
        }

        @Test func aRefusedServerIsSkippedEvenForAPostBecauseNothingWasSent() async throws {
            let live = try await TestUpstream.start()
            let deadPort = try freeLoopbackPort()
            var options = ProxyHarness.Options()
            // Round robin starts with the first server: the dead one.
            options.appUpstream = "servers = [\"127.0.0.1:\(deadPort)\", \"127.0.0.1:\(live.port)\"]\nretries = 1"
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await live.stop() } }
            let client = try await TestHTTPClient.connect(port: harness.port)
            var body = ByteBuffer()
            body.writeString("payload")
            let post = try await client.request("POST", "/public/upload", body: body)
            #expect(post.status == 200)
            #expect(try post.json()["body_bytes"] as? Int == 7)
            for _ in 0..<6 {
                let response = try await client.request("/public/x")
                #expect(response.status == 200)
                #expect(response.upstreamPort == live.port)
            }
            #expect(live.requestsReceived == 7)
            await client.close()
        }

        @Test func idleKeepAliveConnectionsCloseAfterIdleTimeout() async throws {
            let upstream = try await TestUpstream.start()
            var options = ProxyHarness.Options()
            options.appUpstream = "servers = [\"127.0.0.1:\(upstream.port)\"]\nidle_timeout = \"300ms\""
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await upstream.stop() } }
            #expect(try await harness.get("/public/x").status == 200)
            #expect(try await harness.get("/public/x").status == 200)
            var open = upstream.openConnectionCount
            for _ in 0..<50 where open > 0 {
                try await Task.sleep(for: .milliseconds(100))
                open = upstream.openConnectionCount
            }
            #expect(open == 0, "the proxy closed its idle upstream connections")
            #expect(try await harness.get("/public/x").status == 200, "and opens a new one when needed")
        }
    }
}
