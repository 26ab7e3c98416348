import Testing

@testable import SessionGate

/// `least_conn` counts in-flight requests across all of the proxy's threads.
@Suite("Balancing: least_conn")
struct LeastConnTests {
    @Test func newRequestsAvoidTheServerBusyWithASlowOneWhateverThreadTheyArriveOn() async throws {
        let group = try await UpstreamGroup.start(2)
        var options = ProxyHarness.Options()
        options.appUpstream = "\(group.serversTOML)\nbalance = \"least_conn\""
        let harness = try await ProxyHarness.start(options)
        defer { Task { await harness.stop(); await group.stopAll() } }

        let slowClient = try await TestHTTPClient.connect(port: harness.port)
        async let slow = slowClient.request("/public/slow?ms=1500")
        for _ in 0..<100 where group.requestsReceived == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(group.requestsReceived == 1)
        let busyPort = group[0].requestsReceived == 1 ? group.ports[0] : group.ports[1]
        // Each on a new client connection, so they land on both of the proxy's event loops.
        for _ in 0..<8 {
            let response = try await harness.get("/public/x")
            #expect(response.status == 200)
            #expect(response.upstreamPort != busyPort)
        }
        #expect(try await slow.upstreamPort == busyPort)
        await slowClient.close()
    }
}
