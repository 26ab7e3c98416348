import NIOCore
import NIOHTTP1
import NIOPosix

/// Keep-alive connections to upstream servers, for one event loop.
///
/// Each event loop has its own pool, so a client connection and its upstream connection share a thread and never
/// need a lock or a hop. Idle connections are reused newest first (the likeliest to still be open); those idle for
/// longer than their upstream's `idle_timeout` are closed, by a sweep that runs only while some are idle. Which server
/// a request goes to is not decided here (see ``SharedBalancer``).
final class UpstreamPool {
    private let eventLoop: EventLoop
    /// Idle connections kept per server (indexed by server ID, from `max_idle`); more are closed when released.
    private let maxIdle: [Int]
    /// `idle_timeout` per server ID.
    private let idleTimeout: [TimeAmount]
    /// Indexed by server ID, oldest first: each list is appended to on release. An array, not a dictionary: the
    /// request path looks it up twice per request.
    private var idle: [[UpstreamConnection]]
    private var sweep: Scheduled<Void>?
    /// Drops a connection that closed while idle; one closure for the pool rather than one per release.
    private lazy var forgetIdle: (UpstreamConnection) -> Void = { [unowned self] closed in
        self.idle[closed.server].removeAll { $0 === closed }
    }

    init(eventLoop: EventLoop, upstreams: [Upstream]) {
        self.eventLoop = eventLoop
        var maxIdle: [Int] = []
        var idleTimeout: [TimeAmount] = []
        for upstream in upstreams {
            for server in upstream.servers {
                if maxIdle.count <= server.id {
                    maxIdle += Array(repeating: 0, count: server.id + 1 - maxIdle.count)
                    idleTimeout += Array(repeating: .seconds(60), count: server.id + 1 - idleTimeout.count)
                }
                maxIdle[server.id] = upstream.maxIdle
                idleTimeout[server.id] = upstream.idleTimeout
            }
        }
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
        self.idle = Array(repeating: [], count: maxIdle.count)
    }

    /// An idle connection to `server` that is still open, taken out of the pool; nil when there is none (then
    /// ``connect(_:timeout:_:)``). Synchronous, so the usual request needs no callback.
    func takeIdle(_ server: UpstreamServer) -> UpstreamConnection? {
        // Popped in place (`idle[id].popLast()`): copying the list out first would copy its storage each time.
        let oldest = NIODeadline.now() - idleTimeout[server.id]
        while let connection = idle[server.id].popLast() {
            if connection.idleSince < oldest {
                // Newest first: every connection left is older still.
                closeIdle(connection)
                closeExpired(server.id, olderThan: .distantFuture)
                return nil
            }
            // `isClosed` follows the channel: a connection whose channel went inactive has already left the pool
            // (``UpstreamConnection/onIdleClose``), so asking the channel again would only cost a call.
            if !connection.isClosed {
                connection.onIdleClose = nil
                connection.wasReused = true
                return connection
            }
        }
        return nil
    }

    /// Returns a connection after a complete exchange; it is closed instead if it cannot be reused.
    func release(_ connection: UpstreamConnection) {
        connection.delegate = nil
        guard connection.isReusable, !connection.isClosed, idle[connection.server].count < maxIdle[connection.server]
        else {
            connection.close()
            return
        }
        connection.resumeReads()
        connection.onIdleClose = forgetIdle
        connection.idleSince = .now()
        idle[connection.server].append(connection)
        if sweep == nil { scheduleSweep() }
    }

    /// Closes idle connections past their `idle_timeout`, every half of the shortest timeout, while any are idle.
    private func scheduleSweep() {
        let interval = TimeAmount.nanoseconds(max((idleTimeout.min() ?? .seconds(60)).nanoseconds / 2, 50_000_000))
        sweep = eventLoop.assumeIsolated().scheduleTask(in: interval) { [weak self] in
            guard let self else { return }
            self.sweep = nil
            let now = NIODeadline.now()
            for server in self.idle.indices { self.closeExpired(server, olderThan: now - self.idleTimeout[server]) }
            if self.idle.contains(where: { !$0.isEmpty }) { self.scheduleSweep() }
        }
    }

    /// Closes `server`'s idle connections that went idle before `limit` (the front of its list).
    private func closeExpired(_ server: Int, olderThan limit: NIODeadline) {
        let list = idle[server]
        let expired = list.prefix { $0.idleSince < limit }
        guard !expired.isEmpty else { return }
        idle[server] = Array(list.dropFirst(expired.count))
        for connection in expired { closeIdle(connection) }
    }

    private func closeIdle(_ connection: UpstreamConnection) {
        connection.onIdleClose = nil
        connection.close()
    }

    /// Closes every idle connection (at shutdown).
    func closeAll() {
        sweep?.cancel()
        sweep = nil
        let all = idle.flatMap { $0 }
        idle = Array(repeating: [], count: idle.count)
        for connection in all {
            connection.onIdleClose = nil
            connection.close()
        }
    }

    /// A new connection to `server`; `done` runs on this pool's event loop.
    func connect(
        _ server: UpstreamServer, timeout: TimeAmount, _ done: @escaping (Result<UpstreamConnection, Error>) -> Void
    ) {
        let serverID = server.id
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // The handler asks for each read itself, see `UpstreamConnectionHandler.channelReadComplete`.
            .channelOption(.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No HTTP codec: requests leave as bytes written by `RequestRewriter` and responses are framed
                    // by the connection's `UpstreamResponseParser`. Every header sent upstream was parsed (so
                    // validated) from the client's request, is the proxy's own, or is an identity value checked when
                    // its session was created and read back (`SessionIdentity.isHeaderSafe`).
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
