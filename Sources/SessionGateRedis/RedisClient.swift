import Logging
import NIOCore

/// A pipelining Redis client: a fixed set of long-lived connections, each carrying many commands at once.
///
/// Commands never wait for a connection from a pool: each is written to a connection right away (or queued for
/// the connect in progress) and its reply matched in order, so one connection carries the traffic of many
/// concurrent requests and shares their syscalls. Connections reconnect by themselves with backoff; while a
/// connection is down, commands fail at once with ``RedisError/connectionUnavailable`` so callers can fail
/// closed quickly instead of queueing behind an outage.
///
/// Thread-safe: call from any thread or event loop. Calling from one of the group's loops and passing it as
/// `eventLoop` avoids any thread hop when a connection lives on that loop.
public final class RedisClient: Sendable {
    private let eventLoopGroup: EventLoopGroup
    private let connections: [RedisConnection]
    private let routes: [(loop: EventLoop, route: RedisConnectionRoute)]
    /// The connection receiving client-side-caching invalidations, when the client was created with a
    /// ``RedisInvalidationSubscription``; started and shut down with the client.
    public let invalidationListener: RedisInvalidationListener?

    /// Creates the client and its connections, spread round-robin over the group's loops. Nothing connects
    /// until ``start()``.
    /// - Parameters:
    ///   - configuration: Server address, credentials, connection count and timeouts.
    ///   - eventLoopGroup: The loops the connections live on; usually the server's own group.
    ///   - logger: Receives connection problems (each distinct problem once per outage) and recoveries.
    ///   - invalidations: When given, a dedicated connection subscribes to invalidations of keys under its prefix
    ///     (see ``RedisInvalidationListener``). Default: none.
    public init(
        configuration: RedisClientConfiguration, eventLoopGroup: EventLoopGroup, logger: Logger,
        invalidations: RedisInvalidationSubscription? = nil
    ) {
        let loops = Array(eventLoopGroup.makeIterator())
        let plan = RedisConnectionRoute.plan(loops: loops, count: max(configuration.connections, 1)) { loop in
            RedisConnection(configuration: configuration, eventLoop: loop, logger: logger)
        }
        self.eventLoopGroup = eventLoopGroup
        self.connections = plan.connections
        self.routes = plan.routes
        self.invalidationListener = invalidations.map {
            RedisInvalidationListener(
                configuration: configuration, prefix: $0.prefix, clientName: $0.clientName,
                heartbeatInterval: $0.heartbeatInterval,
                eventLoop: eventLoopGroup.next(), logger: logger, onEvent: $0.onEvent)
        }
    }

    /// Begins connecting every connection; does not wait. Commands sent before a connection is up are queued
    /// for it (subject to their timeout).
    public func start() {
        for connection in connections {
            connection.start()
        }
        invalidationListener?.start()
    }

    /// Waits until every connection is ready (connected, authenticated, database selected).
    /// - Parameter timeout: How long to wait at most.
    /// - Returns: `true` if all connections became ready in time; `false` on timeout or after shutdown.
    public func waitUntilConnected(timeout: TimeAmount) async -> Bool {
        let deadline = NIODeadline.now() + timeout
        let waits = connections.map { $0.waitUntilReady(deadline: deadline) }
        for wait in waits {
            guard (try? await wait.get()) == true else {
                return false
            }
        }
        return true
    }

    /// Sends one command.
    ///
    /// Prefers a connection living on `eventLoop` (no thread hop); otherwise connections are picked round-robin.
    /// - Parameters:
    ///   - command: The command, already encoded.
    ///   - eventLoop: The loop the caller runs on; the returned future completes on it when given.
    /// - Returns: The reply. A Redis error reply fails the future with ``RedisError/server(_:)``; transport
    ///   problems fail it with the other ``RedisError`` members.
    public func send(_ command: RedisCommand, on eventLoop: EventLoop? = nil) -> EventLoopFuture<RedisValue> {
        let route = self.route(for: eventLoop)
        let promise = (eventLoop ?? route.eventLoop).makePromise(of: RedisValue.self)
        route.send(command, reply: .promise(promise))
        return promise.futureResult
    }

    /// Sends one command, as ``send(_:on:)`` does, and hands the reply to `reply` on `eventLoop` instead of
    /// completing a future.
    public func send(_ command: RedisCommand, on eventLoop: EventLoop, reply: @escaping RedisReplyCallback) {
        route(for: eventLoop).send(command, reply: .callback(eventLoop, reply))
    }

    /// Sends one command and awaits the reply.
    /// - Parameter command: The command, already encoded.
    /// - Returns: The reply.
    /// - Throws: ``RedisError``; a Redis error reply is ``RedisError/server(_:)``.
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try await send(command, on: nil).get()
    }

    /// Closes all connections, fails pending commands with ``RedisError/connectionClosed`` and stops
    /// reconnecting. Later commands fail with ``RedisError/connectionUnavailable``. Idempotent.
    public func shutdown() async {
        let closes = connections.map { $0.shutdown() }
        for close in closes {
            try? await close.get()
        }
        await invalidationListener?.shutdown()
    }

    /// The route for `eventLoop`: its own if it is one of the group's loops; otherwise the current loop's when
    /// called on one of them, else the next loop's in the group's round-robin order.
    func route(for eventLoop: EventLoop?) -> RedisConnectionRoute {
        if let eventLoop, let route = route(exactly: eventLoop) {
            return route
        }
        return route(exactly: eventLoopGroup.any()) ?? routes[0].route
    }

    private func route(exactly eventLoop: EventLoop) -> RedisConnectionRoute? {
        for entry in routes where entry.loop === eventLoop {
            return entry.route
        }
        return nil
    }
}
