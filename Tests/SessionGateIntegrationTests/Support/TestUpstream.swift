import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP/1.1 server on `127.0.0.1` and a free port: the proxied service in integration tests.
///
/// Routes, chosen by the path's last segment so that a proxy's route prefix does not matter (`/drop` and
/// `/app/drop` both drop; see `TestUpstream.Route`):
/// - any other path: 200 with a JSON echo `{"method", "uri", "headers": [[name, value], ...], "body_bytes"}`,
///   headers exactly as received, in order;
/// - `/slow?ms=N`: the same echo after N ms, scheduled on the event loop;
/// - `/drop`: closes the connection without answering;
/// - `/stale`: the echo on a connection's first request, a close without answering on any later one;
/// - `/download?bytes=N`: 200 with N bytes of `TestBodyPattern` in 64 KiB chunks, written only while the channel
///   is writable;
/// - `/upload`: counts the request body without buffering it and answers `{"body_bytes": N, "pattern_ok": Bool}`.
///
/// Keep-alive is honoured (HTTP/1.1 by default, `Connection: close` closes after the response) and pipelined
/// requests are answered in order. Counters are safe to read from any thread.
final class TestUpstream: Sendable {
    /// What the server has seen so far; shared between the event loops and the test.
    struct Stats: Sendable {
        var connectionsAccepted = 0
        var requestsServed = 0
        var requestsReceived = 0
        var downloadBytesWritten = 0
        var lastRequestHeaders: [(String, String)] = []
        var openConnections: [ObjectIdentifier: any Channel] = [:]
    }

    /// The TCP port the server listens on (on `127.0.0.1`).
    let port: Int
    private let serverChannel: any Channel
    private let stats: NIOLockedValueBox<Stats>

    private init(port: Int, serverChannel: any Channel, stats: NIOLockedValueBox<Stats>) {
        self.port = port
        self.serverChannel = serverChannel
        self.stats = stats
    }

    /// Starts a server on `127.0.0.1`, by default on port 0 (the kernel picks a free one).
    ///
    /// JSON answers carry `X-Upstream-Port: <port>`, so a test talking through a proxy to several upstreams can tell
    /// which one answered.
    ///
    /// - Parameters:
    ///   - group: The event loops to serve on; defaults to NIO's shared singleton group.
    ///   - port: The port to bind; pass a stopped server's port to bring "the same server" back.
    /// - Returns: The running server; call `stop()` when done.
    /// - Throws: If the socket cannot be bound.
    static func start(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, port: Int = 0) async throws -> TestUpstream {
        let stats = NIOLockedValueBox(Stats())
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let id = ObjectIdentifier(channel)
                stats.withLockedValue {
                    $0.connectionsAccepted += 1
                    $0.openConnections[id] = channel
                }
                channel.closeFuture.whenComplete { _ in
                    stats.withLockedValue { _ = $0.openConnections.removeValue(forKey: id) }
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(stats: stats))
                }
            }
            .bind(host: "127.0.0.1", port: port)
            .get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw TestUpstreamError.noLocalAddress
        }
        return TestUpstream(port: port, serverChannel: channel, stats: stats)
    }

    /// Stops listening and closes every open connection. Safe to call more than once.
    func stop() async {
        try? await serverChannel.close()
        let open = stats.withLockedValue { Array($0.openConnections.values) }
        for channel in open {
            try? await channel.close()
        }
    }

    /// How many TCP connections the server has accepted.
    var connectionsAccepted: Int { stats.withLockedValue { $0.connectionsAccepted } }

    /// How many request heads the server has read (a `/drop` counts).
    var requestsReceived: Int { stats.withLockedValue { $0.requestsReceived } }

    /// How many responses the server has finished writing (a `/drop` does not count).
    var requestsServed: Int { stats.withLockedValue { $0.requestsServed } }

    /// The headers of the most recent request head, exactly as received and in order.
    var lastRequestHeaders: [(String, String)] { stats.withLockedValue { $0.lastRequestHeaders } }

    /// How many `/download` body bytes have been handed to connections, over all requests.
    ///
    /// Chunks are written only while a connection is writable, so while a client (or a proxy) does not read,
    /// this stops growing: tests use it to check that backpressure reaches the upstream.
    var downloadBytesWritten: Int { stats.withLockedValue { $0.downloadBytesWritten } }

    /// How many accepted connections are still open.
    var openConnectionCount: Int { stats.withLockedValue { $0.openConnections.count } }
}

/// Errors from starting a `TestUpstream`.
enum TestUpstreamError: Error, CustomStringConvertible {
    case noLocalAddress

    var description: String {
        switch self {
        case .noLocalAddress: "TestUpstream: the bound server channel has no local address"
        }
    }
}
