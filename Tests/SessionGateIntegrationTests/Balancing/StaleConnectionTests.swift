import NIOCore
import Testing

@testable import SessionGate

extension BalancingProxyTests {
    /// A kept-alive upstream connection that the server closes just as a request arrives on it.
    @Suite("Balancing: stale keep-alive connections")
    struct StaleConnectionTests {
        @Test func aGetIsSentAgainOnAFreshConnectionToTheSameServerAndAPostIsNot() async throws {
            let group = try await UpstreamGroup.start(2)
            var options = ProxyHarness.Options()
            // No retries on other servers: a GET that succeeds was replayed on the same server.
            options.appUpstream = "\(group.serversTOML)\nbalance = \"consistent_hash\"\nhash_key = \"session\"\nretries = 0"
            let harness = try await ProxyHarness.start(options)
            defer { Task { await harness.stop(); await group.stopAll() } }
            let token = try await harness.login()
            let client = try await TestHTTPClient.connect(port: harness.port)
            let session = [("X-Session-ID", token)]

            let first = try await client.request("/app/a", headers: session)
            #expect(first.status == 200)
            // The pooled connection is now "stale": the server drops the next request on it.
            let replayed = try await client.request("/app/stale", headers: session)
            #expect(replayed.status == 200)
            #expect(replayed.upstreamPort == first.upstreamPort, "the session stays on its server")
            #expect(group.requestsReceived == 3)

            var body = ByteBuffer()
            body.writeString("pay=1")
            let post = try await client.request("POST", "/app/stale", headers: session, body: body)
            #expect(post.status == 502)
            #expect(group.requestsReceived == 4, "the POST reached the server once and was not sent again")
            await client.close()
        }
    }
}
