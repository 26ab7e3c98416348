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
        // ["EVALSHA", sha1, numkeys, keys..., arguments...], built in one allocation; `EVAL` swaps the first two.
        var building: [String] = []
        building.reserveCapacity(3 + keys.count + arguments.count)
        building.append("EVALSHA")
        building.append(script.sha1)
        building.append(String(keys.count))
        building.append(contentsOf: keys)
        building.append(contentsOf: arguments)
        let words = building
        let key = keys.first
        let evalsha = send(RedisCommand(words), routingKey: key, retryable: script.isIdempotent, on: eventLoop)
        return evalsha.flatMapError { error in
            guard let redisError = error as? RedisError, redisError.serverMessage?.hasPrefix("NOSCRIPT") == true else {
                return evalsha.eventLoop.makeFailedFuture(error)
            }
            var evalWords = words
            evalWords[0] = "EVAL"
            evalWords[1] = script.source
            return self.send(RedisCommand(evalWords), routingKey: key, retryable: script.isIdempotent, on: eventLoop)
        }
    }

    /// Runs a script as ``eval(_:keys:arguments:on:)`` does, and awaits the result.
    /// - Throws: ``RedisError``; an error raised by the script is ``RedisError/server(_:)``.
    public func eval(_ script: RedisScript, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await eval(script, keys: keys, arguments: arguments, on: nil).get()
    }
}
