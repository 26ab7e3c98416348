import NIOCore

/// Fewer replicas acknowledged a write than required (`WAIT` timed out): the write may be lost on failover.
public struct RedisReplicationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// How many replicas acknowledged.
    public let acknowledged: Int
    /// How many were required.
    public let required: Int

    public var description: String {
        "only \(acknowledged) of \(required) required Redis replicas acknowledged the write"
    }
}

/// Running a script, then `WAIT`ing for replicas on the same connection.
extension RedisCommandRouting {
    /// Runs a script like ``eval(_:keys:arguments:on:)``, then, on the same connection and without waiting for the
    /// script's reply first, `WAIT replicas timeout`, so the write is acknowledged by that many replicas before the
    /// caller hears of it. With `replicas` 0 this is a plain eval.
    ///
    /// `WAIT` covers every write the connection made before it, this script's included. It does not make Redis
    /// strongly consistent: a write can still be applied on the master and not acknowledged (this then fails); but a
    /// write that was acknowledged survives a failover to one of the replicas that acknowledged it.
    /// - Returns: The script's reply. Fails with ``RedisReplicationError`` when fewer replicas acknowledged in time.
    public func eval(
        _ script: RedisScript, keys: [String], arguments: [String], replicas: Int, timeout: TimeAmount,
        on eventLoop: EventLoop? = nil
    ) -> EventLoopFuture<RedisValue> {
        guard replicas > 0 else {
            return eval(script, keys: keys, arguments: arguments, on: eventLoop)
        }
        let tail = [String(keys.count)] + keys + arguments
        let wait = RedisCommand("WAIT", String(replicas), String(max(timeout.nanoseconds / 1_000_000, 1)))
        let first = pipeline(
            [RedisCommand(["EVALSHA", script.sha1] + tail), wait], routingKey: keys.first,
            retryable: script.isIdempotent, on: eventLoop)
        return first.flatMap { results in
            if case .failure(let error as RedisError) = results[0], error.serverMessage?.hasPrefix("NOSCRIPT") == true {
                return self.pipeline(
                    [RedisCommand(["EVAL", script.source] + tail), wait], routingKey: keys.first,
                    retryable: script.isIdempotent, on: eventLoop
                ).flatMapThrowing { try Self.acknowledged($0, replicas: replicas) }
            }
            return first.eventLoop.makeCompletedFuture { try Self.acknowledged(results, replicas: replicas) }
        }
    }

    /// The script's reply when `WAIT` reported enough replicas.
    private static func acknowledged(_ results: [Result<RedisValue, Error>], replicas: Int) throws -> RedisValue {
        let reply = try results[0].get()
        let acknowledged = Int(try results[1].get().int ?? 0)
        guard acknowledged >= replicas else {
            throw RedisReplicationError(acknowledged: acknowledged, required: replicas)
        }
        return reply
    }

    /// ``eval(_:keys:arguments:replicas:timeout:on:)``, awaited.
    public func eval(
        _ script: RedisScript, keys: [String], arguments: [String], replicas: Int, timeout: TimeAmount
    ) async throws -> RedisValue {
        try await eval(script, keys: keys, arguments: arguments, replicas: replicas, timeout: timeout, on: nil).get()
    }
}
