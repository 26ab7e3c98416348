import NIOConcurrencyHelpers
import Testing

@testable import SessionGate

/// The balancing suites that run whole proxies, one test at a time: each starts a proxy, a redis-server and several
/// upstreams, and in parallel they would crowd the machine for the other suites' timing checks.
@Suite("Balancing through the proxy", .serialized)
enum BalancingProxyTests {}

/// Several real upstream servers behind one proxy upstream; each answers with `X-Upstream-Port` so a test can tell
/// which one served a request.
final class UpstreamGroup: Sendable {
    private let servers: NIOLockedValueBox<[TestUpstream]>
    /// The ports, in the order of the `servers` key; a stopped server keeps its place.
    let ports: [Int]

    private init(_ servers: [TestUpstream]) {
        self.servers = NIOLockedValueBox(servers)
        self.ports = servers.map(\.port)
    }

    static func start(_ count: Int) async throws -> UpstreamGroup {
        var servers: [TestUpstream] = []
        for _ in 0..<count { servers.append(try await TestUpstream.start()) }
        return UpstreamGroup(servers)
    }

    /// The `servers = [...]` line.
    var serversTOML: String { "servers = [" + ports.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", ") + "]" }

    /// The servers' names on the hash ring: their addresses as configured.
    var ringNames: [String] { ports.map { "127.0.0.1:\($0)" } }

    subscript(index: Int) -> TestUpstream { servers.withLockedValue { $0[index] } }

    /// Stops one server: its listener and every open connection close.
    func stop(_ index: Int) async { await self[index].stop() }

    /// Starts a stopped server again on the same port.
    func restart(_ index: Int) async throws {
        let server = try await TestUpstream.start(port: ports[index])
        servers.withLockedValue { $0[index] = server }
    }

    func stopAll() async {
        for server in servers.withLockedValue({ $0 }) { await server.stop() }
    }

    /// Requests all servers have read, `/drop`s included.
    var requestsReceived: Int { servers.withLockedValue { $0 }.reduce(0) { $0 + $1.requestsReceived } }
}

extension TestResponse {
    /// The port of the upstream that answered (0 when the proxy answered itself).
    var upstreamPort: Int { header("X-Upstream-Port").flatMap { Int($0) } ?? 0 }
}

extension ProxyHarness {
    /// Whether the `app` upstream's in-flight counts reach `expected` within two seconds.
    func appInFlightSettles(to expected: [Int]) async -> Bool {
        for _ in 0..<200 {
            if appInFlight == expected { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return appInFlight == expected
    }
}
