import NIOCore

/// The standalone client as a ``RedisCommandRouting``: one server, so the routing key is ignored, and a command that
/// failed is not retried (there is no other server to retry on; the connection reconnects by itself).
extension RedisClient: RedisCommandRouting {
    public func send(
        _ command: RedisCommand, routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<RedisValue> {
        send(command, on: eventLoop)
    }

    /// Sends `EVALSHA` (and `EVAL` on `NOSCRIPT`) without a future: see ``RedisReplyTarget``.
    public func eval(
        _ script: RedisScript, keys: [String], arguments: [String], on eventLoop: EventLoop,
        reply: @escaping RedisReplyCallback
    ) {
        let words = script.evalshaWords(keys: keys, arguments: arguments)
        send(RedisCommand(words), on: eventLoop) { result in
            if case .failure(let error) = result, RedisScript.isNoScript(error) {
                self.send(RedisCommand(script.evalWords(from: words)), on: eventLoop, reply: reply)
            } else {
                reply(result)
            }
        }
    }

    public func pipeline(
        _ commands: [RedisCommand], routingKey: String?, retryable: Bool, on eventLoop: EventLoop?
    ) -> EventLoopFuture<[Result<RedisValue, Error>]> {
        let route = self.route(for: eventLoop)
        let loop = eventLoop ?? route.eventLoop
        let promises = commands.map { _ in loop.makePromise(of: RedisValue.self) }
        route.send(zip(commands, promises).map { RedisConnection.Pending(command: $0, reply: .promise($1)) })
        return EventLoopFuture.whenAllComplete(promises.map(\.futureResult), on: loop)
    }
}
