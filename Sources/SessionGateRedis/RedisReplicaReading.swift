import NIOCore

/// A client that can send read-only work to a replica (``RedisSentinelClient`` with `read_from_replicas`).
///
/// Replication is asynchronous: a replica may lag the master by a few milliseconds, so a key written a moment ago
/// may be missing there and a key deleted a moment ago may still be present. Callers fall back to the master on a
/// miss and accept (or rule out with `min_replicas_ack`) the second case.
public protocol RedisReplicaReading: RedisCommandRouting {
    /// Sends a read-only command to a replica. - Returns: nil when no replica is available right now (callers use
    /// the master instead).
    func sendToReplica(_ command: RedisCommand, on eventLoop: EventLoop?) -> EventLoopFuture<RedisValue>?
}

extension RedisReplicaReading {
    /// Runs a read-only script on a replica (`EVALSHA`, then `EVAL` on `NOSCRIPT`); the script should declare
    /// `#!lua flags=no-writes`. - Returns: nil when no replica is available.
    public func evalOnReplica(
        _ script: RedisScript, keys: [String], arguments: [String], on eventLoop: EventLoop?
    ) -> EventLoopFuture<RedisValue>? {
        let tail = [String(keys.count)] + keys + arguments
        guard let evalsha = sendToReplica(RedisCommand(["EVALSHA", script.sha1] + tail), on: eventLoop) else {
            return nil
        }
        return evalsha.flatMapError { error in
            guard (error as? RedisError)?.serverMessage?.hasPrefix("NOSCRIPT") == true,
                let eval = self.sendToReplica(RedisCommand(["EVAL", script.source] + tail), on: eventLoop)
            else { return evalsha.eventLoop.makeFailedFuture(error) }
            return eval
        }
    }
}
