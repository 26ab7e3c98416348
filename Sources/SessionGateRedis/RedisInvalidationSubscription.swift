import NIOCore

/// Asks ``RedisClient`` for an invalidation connection (server-assisted client-side caching, RESP2 broadcast mode).
public struct RedisInvalidationSubscription: Sendable {
    /// Only keys starting with this are reported.
    public var prefix: String
    /// The connection's `CLIENT SETNAME`.
    public var clientName: String
    /// How often a `PING` checks the connection; a silently dead one is noticed within two intervals. Default 1 s.
    public var heartbeatInterval: TimeAmount = .seconds(1)
    /// Receives every ``RedisInvalidationEvent``, in order, on the listener's loop.
    public var onEvent: @Sendable (RedisInvalidationEvent) -> Void

    /// - Parameters:
    ///   - prefix: Only keys starting with this are reported.
    ///   - clientName: The connection's name in `CLIENT LIST`; no spaces. Default `sessiongate-invalidations`.
    ///   - onEvent: Receives every event, in order.
    public init(
        prefix: String, clientName: String = "sessiongate-invalidations",
        onEvent: @escaping @Sendable (RedisInvalidationEvent) -> Void
    ) {
        self.prefix = prefix
        self.clientName = clientName
        self.onEvent = onEvent
    }
}

/// What a ``RedisInvalidationListener`` tells its user, in order, on the listener's event loop.
public enum RedisInvalidationEvent: Sendable, Equatable {
    /// Invalidations are reliable from now on. Anything cached before may be stale: flush it, then cache again.
    case active
    /// Invalidations may be lost from now on: flush and stop caching (read through) until the next ``active``.
    case inactive
    /// These keys changed, were deleted or expired.
    case invalidate([String])
    /// Every key may have changed (`FLUSHALL`/`FLUSHDB`).
    case invalidateAll
}
