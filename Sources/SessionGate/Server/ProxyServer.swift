import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening socket and its event loops: binds `[server] listen` and serves each connection with a
/// ``ProxyHandler``.
public final class ProxyServer: Sendable {
    private let context: ProxyContext
    private let group: EventLoopGroup
    private let listen: HostPort
    private let loops: [ObjectIdentifier: NIOLoopBound<LoopResources>]
    private let channel: NIOLockedValueBox<Channel?> = .init(nil)
    private let healthChecker: HealthChecker

    /// - Parameters:
    ///   - configuration: validated configuration.
    ///   - store: where sessions are checked.
    ///   - group: the event loops (`[server] threads` of them) shared with the Redis client.
    /// - Throws: ``ConfigurationError`` when an upstream server name cannot be resolved.
    public init(configuration: ProxyConfiguration, store: SessionStore, group: EventLoopGroup, logger: Logger, file: String = "proxy.conf") throws {
        let upstreams = try Upstream.resolve(configuration.upstreams, file: file)
        let context = ProxyContext(configuration: configuration, upstreams: upstreams, store: store, logger: logger)
        self.context = context
        self.healthChecker = HealthChecker(upstreams: upstreams, logger: logger)
        self.group = group
        self.listen = configuration.server.listen
        var loops: [ObjectIdentifier: NIOLoopBound<LoopResources>] = [:]
        for (index, loop) in group.makeIterator().enumerated() {
            let resources = try loop.submit {
                NIOLoopBound(
                    LoopResources(eventLoop: loop, upstreams: upstreams, requestIDPrefix: context.requestIDPrefix, loopIndex: index),
                    eventLoop: loop)
            }.wait()
            loops[ObjectIdentifier(loop)] = resources
        }
        self.loops = loops
    }

    /// Binds the listening socket. - Returns: the bound address (useful with port 0).
    @discardableResult
    public func start() async throws -> SocketAddress {
        let context = self.context
        let loops = self.loops
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // NIO accepts 4 connections per wake-up of the listening socket by default: a burst of 1,000 new clients
            // then waits up to a second (250 event-loop ticks, each busy serving the connections already open) with
            // their first requests already sent, the whole of the proxy's latency tail at 1,000 connections.
            .serverChannelOption(.maxMessagesPerRead, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // `ProxyHandler` asks for each read itself (see its `channelReadComplete`): the same reads NIO's
            // auto-read would ask for, without passing every one through the whole pipeline.
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let resources = loops[ObjectIdentifier(channel.eventLoop)]?.value else {
                        preconditionFailure("every event loop of the group has its resources")
                    }
                    // One handler: requests are framed and responses written as bytes inside `ProxyHandler`, which
                    // also queues pipelined requests itself (see its doc comment).
                    try channel.pipeline.syncOperations.addHandler(ProxyHandler(proxy: context, loop: resources))
                }
            }
            .bind(host: listen.host, port: listen.port)
            .get()
        self.channel.withLockedValue { $0 = channel }
        healthChecker.start(group: group)
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        return address
    }

    /// Stops accepting and closes idle upstream connections. Connections in use finish on their own.
    public func stop() async {
        let channel = self.channel.withLockedValue { channel -> Channel? in
            defer { channel = nil }
            return channel
        }
        try? await channel?.close()
        healthChecker.stop()
        for (_, resources) in loops {
            try? await resources.eventLoop.submit { resources.value.pool.closeAll() }.get()
        }
    }

    /// The upstreams in use, with their balancers' live state (for tests and diagnostics).
    var upstreams: [Upstream] { context.upstreams }

    /// Waits until the listening socket is closed.
    public func waitUntilClosed() async {
        let channel = self.channel.withLockedValue { $0 }
        try? await channel?.closeFuture.get()
    }
}
