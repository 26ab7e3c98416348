import Testing

@testable import SessionGate

extension BalancingProxyTests {
    /// `least_conn` counts in-flight requests across all of the proxy's threads.
    @Suite("Balancing: least_conn")
    struct LeastConnTests {
        @Test func newRequestsAvoidTheServerBusyWithASlowOneWhateverThreadTheyArriveOn() async throws {
            let group = try await UpstreamGroup.start(2)
            var options = ProxyHarness.Options()
            options.appUpstream = "\(group.serversTOML)\nbalance = \"least_conn\""
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await group.stopAll() } }

            // A request that stays in flight for the whole test (its client leaves before the answer).
            let slowClient = try await TestHTTPClient.connect(port: harness.port)
            let slow = Task { try await slowClient.request("/public/slow?ms=30000", timeout: .seconds(60)) }
            for _ in 0..<500 where group.requestsReceived == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(group.requestsReceived == 1)
            let busy = group[0].requestsReceived == 1 ? 0 : 1
            // Each on a new client connection, so they land on both of the proxy's event loops.
            for _ in 0..<6 {
                let response = try await harness.get("/public/x")
                #expect(response.status == 200)
                #expect(response.upstreamPort == group.ports[1 - busy])
            }
            #expect(harness.appInFlight[busy] == 1)
            await slowClient.close()
            _ = try? await slow.value
            #expect(await harness.appInFlightSettles(to: [0, 0]), "a client leaving gives its in-flight slot back")
        }
    }
}
