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
        let tail = [String(keys.count)] + keys + arguments
        let key = keys.first
        let evalsha = send(
            RedisCommand(["EVALSHA", script.sha1] + tail), routingKey: key, retryable: script.isIdempotent, on: eventLoop)
        return evalsha.flatMapError { error in
            guard let redisError = error as? RedisError, redisError.serverMessage?.hasPrefix("NOSCRIPT") == true else {
                return evalsha.eventLoop.makeFailedFuture(error)
            }
            return self.send(
                RedisCommand(["EVAL", script.source] + tail), routingKey: key, retryable: script.isIdempotent,
                on: eventLoop)
        }
    }

    /// Runs a script as ``eval(_:keys:arguments:on:)`` does, and awaits the result.
    /// - Throws: ``RedisError``; an error raised by the script is ``RedisError/server(_:)``.
    public func eval(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await eval(script, keys: keys, arguments: arguments, on: nil).get()
    }
}
