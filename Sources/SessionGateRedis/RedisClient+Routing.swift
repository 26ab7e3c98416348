import NIOCore

/// The standalone client as a ``RedisCommandRouting``: one server, so the routing key is ignored, and a command that
/// failed is not retried (there is no other server to retry on; the connection reconnects by itself).
extension RedisClient: RedisCommandRouting {
    public func send(
        _ command: RedisCommand, routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<RedisValue> {
        send(command, on: eventLoop)
    }

    public func pipeline(
        _ commands: [RedisCommand], routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<[Result<RedisValue, Error>]> {
        let route = self.route(for: eventLoop)
        let loop = eventLoop ?? route.eventLoop
        let pending = commands.map { RedisConnection.Pending(command: $0, promise: loop.makePromise(of: RedisValue.self)) }
        route.send(pending)
        return EventLoopFuture.whenAllComplete(pending.map(\.promise.futureResult), on: loop)
    }
}
