import NIOCore

/// What the session store needs from Redis, whatever the deployment: one server (``RedisClient``), a master found
/// through Sentinel (``RedisSentinelClient``) or a Cluster (``RedisClusterClient``).
///
/// Every request names a routing key (the first key its commands touch): a Cluster client sends it to the master of
/// that key's slot, the others ignore it. Several commands given together go back to back over one connection, so
/// `WAIT` after a write covers that write and `ASKING` applies to the command after it.
public protocol RedisCommandRouting: AnyObject, Sendable {
    /// Sends one command.
    /// - Parameters:
    ///   - command: The command.
    ///   - routingKey: A key the command touches (nil: any server).
    ///   - retryable: Whether running it twice is harmless; a command that may have reached a server that then
    ///     failed (closed connection, timeout) is retried once on the new master only if so. A command that was
    ///     never sent, or was redirected, is always retried.
    ///   - eventLoop: The caller's loop; the future completes on it when given.
    func send(_ command: RedisCommand, routingKey: String?, retryable: Bool, on eventLoop: EventLoop?) -> EventLoopFuture<RedisValue>

    /// Sends commands back to back over one connection; the future never fails, each result is its command's reply
    /// or error. Parameters as for ``send(_:routingKey:retryable:on:)``.
    func pipeline(
        _ commands: [RedisCommand], routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<[Result<RedisValue, Error>]>

    /// Runs a script (`EVALSHA`, then `EVAL` on `NOSCRIPT`) and hands the result to `reply` on `eventLoop`.
    /// A default implementation goes through ``eval(_:keys:arguments:on:)``'s future.
    func eval(
        _ script: RedisScript, keys: [String], arguments: [String], on eventLoop: EventLoop,
        reply: @escaping RedisReplyCallback)

    /// Begins connecting; does not wait.
    func start()

    /// Waits until the client can serve commands. - Returns: false on timeout.
    func waitUntilConnected(timeout: TimeAmount) async -> Bool

    /// Closes every connection for good.
    func shutdown() async

    /// The connection receiving near-cache invalidations, if there is one (for the current master under Sentinel).
    var invalidationListener: RedisInvalidationListener? { get }
}

extension RedisCommandRouting {
    /// Sends a command to any server (or the one owning `routingKey`) and awaits the reply.
    public func send(_ command: RedisCommand, routingKey: String? = nil, retryable: Bool = false) async throws -> RedisValue {
        try await send(command, routingKey: routingKey, retryable: retryable, on: nil).get()
    }

    /// Whether an error says the command never reached a server, so sending it again cannot run it twice.
    static func neverSent(_ error: Error) -> Bool {
        (error as? RedisError) == .connectionUnavailable
    }

    /// Whether an error is a transport failure (as opposed to an answer from Redis).
    static func isTransportFailure(_ error: Error) -> Bool {
        guard let error = error as? RedisError else { return false }
        return error == .connectionUnavailable || error == .connectionClosed || error == .timeout
    }
}
