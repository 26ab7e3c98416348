import Testing

@testable import SessionGate

extension BalancingProxyTests {
    /// `consistent_hash` and `ip_hash` through the proxy with real upstreams: a key keeps reaching one server, keys are
    /// spread over all servers, and the server is the one the documented ring names.
    @Suite("Balancing: stickiness")
    struct StickinessTests {
        private func start(_ group: UpstreamGroup, _ keys: String) async throws -> ProxyHarness {
            var options = ProxyHarness.Options()
            options.appUpstream = "\(group.serversTOML)\n\(keys)"
            return try await ProxyHarness.start(options)
        }

        @Test func eachSessionSticksToTheServerItsRingPointNames() async throws {
            let group = try await UpstreamGroup.start(3)
            let harness = try await start(group, "balance = \"consistent_hash\"\nhash_key = \"session\"")
            defer { Task { await harness.stop(); await group.stopAll() } }
            let ring = ConsistentHashRing(servers: group.ringNames.map { ($0, 1) })
            var used = Set<Int>()
            for user in 0..<30 {
                let token = try await harness.login(user: "u\(user)")
                let expected = group.ports[ring.owner(of: StableHash.hash(token))]
                for _ in 0..<3 {
                    let response = try await harness.get("/app/x", headers: [("X-Session-ID", token)])
                    #expect(response.status == 200)
                    #expect(response.upstreamPort == expected)
                }
                used.insert(expected)
            }
            #expect(used == Set(group.ports), "30 sessions reach every one of 3 servers")
        }

        @Test func allSessionsOfAUserReachOneServer() async throws {
            let group = try await UpstreamGroup.start(3)
            let harness = try await start(group, "balance = \"consistent_hash\"\nhash_key = \"user\"")
            defer { Task { await harness.stop(); await group.stopAll() } }
            var used = Set<Int>()
            for user in 0..<12 {
                var ports = Set<Int>()
                for _ in 0..<3 {
                    let token = try await harness.login(user: "user-\(user)")
                    let response = try await harness.get("/app/x", headers: [("Cookie", "session_id=\(token)")])
                    #expect(response.status == 200)
                    ports.insert(response.upstreamPort)
                }
                #expect(ports.count == 1, "user-\(user)'s three sessions reached \(ports)")
                used.formUnion(ports)
            }
            #expect(used.count >= 2, "12 users spread over more than one server")
        }

        /// `cookie:NAME` and `header:NAME` keys: the value is read off the request (a cookie as the session cookie is,
        /// quoted or among comma-joined pairs; a header in any case) and its point on the documented ring names the
        /// server.
        @Test func cookieAndHeaderKeysStickToTheServerTheirRingPointNames() async throws {
            let group = try await UpstreamGroup.start(3)
            defer { Task { await group.stopAll() } }
            let ring = ConsistentHashRing(servers: group.ringNames.map { ($0, 1) })
            let byCookie = try await start(group, "balance = \"consistent_hash\"\nhash_key = \"cookie:cart\"")
            var used = Set<Int>()
            for n in 0..<20 {
                let value = "cart-\(n)"
                let expected = group.ports[ring.owner(of: StableHash.hash(value))]
                for cookie in ["theme=dark; cart=\(value)", "a=1, cart=\"\(value)\"", "cart=\(value); cart=other"] {
                    let response = try await byCookie.get("/public/x", headers: [("Cookie", cookie)])
                    #expect(response.status == 200)
                    #expect(response.upstreamPort == expected, "\(cookie)")
                }
                used.insert(expected)
            }
            #expect(used == Set(group.ports), "20 carts reach every one of 3 servers")
            await byCookie.stop()

            let byHeader = try await start(group, "balance = \"consistent_hash\"\nhash_key = \"header:X-Tenant\"")
            defer { Task { await byHeader.stop() } }
            for n in 0..<10 {
                let value = "tenant-\(n)"
                let expected = group.ports[ring.owner(of: StableHash.hash(value))]
                for name in ["X-Tenant", "x-tenant"] {
                    let response = try await byHeader.get("/public/x", headers: [(name, value)])
                    #expect(response.upstreamPort == expected)
                }
            }
        }

        @Test func clientAddressesFromATrustedProxyStickWithIPHash() async throws {
            let group = try await UpstreamGroup.start(3)
            let harness = try await start(group, "balance = \"ip_hash\"")
            defer { Task { await harness.stop(); await group.stopAll() } }
            var used = Set<Int>()
            for client in 1...30 {
                var ports = Set<Int>()
                for hop in ["198.51.100.7", "198.51.100.8"] {
                    // 127.0.0.1 is trusted; the address it vouches for is the client, whatever came before it.
                    let response = try await harness.get(
                        "/public/x", headers: [("X-Forwarded-For", "\(hop), 203.0.113.\(client)")])
                    #expect(response.status == 200)
                    ports.insert(response.upstreamPort)
                }
                #expect(ports.count == 1)
                used.formUnion(ports)
            }
            #expect(used == Set(group.ports), "30 client addresses reach every one of 3 servers")
        }
    }
}
