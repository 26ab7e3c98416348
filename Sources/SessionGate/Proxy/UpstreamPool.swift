import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive connections to upstream servers, for one event loop.
///
/// Each event loop has its own pool, so a client connection and its upstream connection share a thread and never
/// need a lock or a hop. Idle connections are reused newest first (the likeliest to still be open).
final class UpstreamPool {
    private let eventLoop: EventLoop
    /// Idle connections kept per server (indexed by server ID, from `max_idle`); more are closed when released.
    private let maxIdle: [Int]
    private var idle: [Int: [UpstreamConnection]] = [:]
    private var roundRobin: [Int] = []
    /// Drops a connection that closed while idle; one closure for the pool rather than one per release.
    private lazy var forgetIdle: (UpstreamConnection) -> Void = { [unowned self] closed in
        self.idle[closed.server]?.removeAll { $0 === closed }
    }

    init(eventLoop: EventLoop, upstreams: [Upstream]) {
        self.eventLoop = eventLoop
        var maxIdle: [Int] = []
        for upstream in upstreams {
            for server in upstream.servers {
                if maxIdle.count <= server.id { maxIdle += Array(repeating: 0, count: server.id + 1 - maxIdle.count) }
                maxIdle[server.id] = upstream.maxIdle
            }
        }
        self.maxIdle = maxIdle
        let upstreamCount = upstreams.count
        self.roundRobin = Array(repeating: 0, count: upstreamCount)
    }

    /// The next server of `upstream` in round-robin order.
    func nextServer(of upstream: Upstream, index: Int) -> UpstreamServer {
        let position = roundRobin[index]
        roundRobin[index] = (position + 1) % upstream.servers.count
        return upstream.servers[position]
    }

    /// An idle connection to `server` if one is open, else a new one; `done` runs on this pool's event loop.
    func acquire(
        _ server: UpstreamServer, connectTimeout: TimeAmount, fresh: Bool = false,
        _ done: @escaping (Result<UpstreamConnection, Error>) -> Void
    ) {
        // Popped in place (`idle[id]?.popLast()`): copying the list out first would copy its storage each time.
        while !fresh, let connection = idle[server.id]?.popLast() {
            if !connection.isClosed && connection.channel.isActive {
                connection.onIdleClose = nil
                connection.wasReused = true
                done(.success(connection))
                return
            }
        }
        connect(server, timeout: connectTimeout, done)
    }

    /// Returns a connection after a complete exchange; it is closed instead if it cannot be reused.
    func release(_ connection: UpstreamConnection) {
        connection.delegate = nil
        guard connection.isReusable, !connection.isClosed, idle[connection.server, default: []].count < maxIdle[connection.server]
        else {
            connection.close()
            return
        }
        connection.resumeReads()
        connection.onIdleClose = forgetIdle
        idle[connection.server, default: []].append(connection)
    }

    /// Closes every idle connection (at shutdown).
    func closeAll() {
        let all = idle.values.flatMap { $0 }
        idle.removeAll()
        for connection in all {
            connection.onIdleClose = nil
            connection.close()
        }
    }

    private func connect(
        _ server: UpstreamServer, timeout: TimeAmount, _ done: @escaping (Result<UpstreamConnection, Error>) -> Void
    ) {
        let serverID = server.id
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Every header sent upstream was parsed (so validated) from the client's request, is the
                    // proxy's own, or is an identity value checked when its session was created and read back
                    // (`SessionIdentity.isHeaderSafe`): a second check per header and request would be waste.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(enableOutboundHeaderValidation: false)
                    let connection = UpstreamConnection(channel: channel, server: serverID)
                    try channel.pipeline.syncOperations.addHandler(UpstreamConnectionHandler(connection: connection))
                }
            }
            .connect(to: server.address)
            .assumeIsolated()
            .whenComplete { result in
                done(result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamConnectionHandler.self).connection }
                })
            }
    }
}

@available(*, unavailable)
extension UpstreamPool: Sendable {}
