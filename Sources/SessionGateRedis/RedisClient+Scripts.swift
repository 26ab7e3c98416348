import NIOCore

/// Running Lua scripts by SHA1, shipping the source only when the server does not have it.
extension RedisCommandRouting {
    /// Runs a script with `EVALSHA`; on a `NOSCRIPT` error reply retries once with `EVAL` and the source,
    /// which also makes the server cache it. Callers never see `NOSCRIPT`.
    /// - Parameters:
    ///   - script: The script; create it once, its SHA1 is computed at construction.
    ///   - keys: The `KEYS` the script touches.
    ///   - arguments: The `ARGV` values.
    ///   - eventLoop: The caller's loop, as for ``send(_:on:)``.
    /// - Returns: The script's result.
    public func eval(
        _ script: RedisScript,
        keys: [String],
        arguments: [String],
        on eventLoop: EventLoop? = nil
    ) -> EventLoopFuture<RedisValue> {
        let words = script.evalshaWords(keys: keys, arguments: arguments)
        let key = keys.first
        let evalsha = send(RedisCommand(words), routingKey: key, retryable: script.isIdempotent, on: eventLoop)
        return evalsha.flatMapError { error in
            guard RedisScript.isNoScript(error) else {
                return evalsha.eventLoop.makeFailedFuture(error)
            }
            return self.send(
                RedisCommand(script.evalWords(from: words)), routingKey: key, retryable: script.isIdempotent,
                on: eventLoop)
        }
    }

    /// Runs a script as ``eval(_:keys:arguments:on:)`` does, handing the result to `reply` on `eventLoop`.
    /// This default goes through the future; ``RedisClient`` sends without one.
    public func eval(
        _ script: RedisScript, keys: [String], arguments: [String], on eventLoop: EventLoop,
        reply: @escaping RedisReplyCallback
    ) {
        eval(script, keys: keys, arguments: arguments, on: eventLoop).hop(to: eventLoop).whenComplete(reply)
    }

    /// Runs a script as ``eval(_:keys:arguments:on:)`` does, and awaits the result.
    /// - Throws: ``RedisError``; an error raised by the script is ``RedisError/server(_:)``.
    public func eval(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await eval(script, keys: keys, arguments: arguments, on: nil).get()
    }
}
