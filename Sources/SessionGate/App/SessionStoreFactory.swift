import Logging
import NIOCore
import SessionGateRedis

/// Builds the configured session store, and the Redis client behind it when there is one.
public struct SessionStoreFactory {
    public let store: SessionStore
    /// The Redis client, to start and shut down; nil for `store = "memory"`.
    public let redis: RedisClient?

    public init(configuration: ProxyConfiguration, group: EventLoopGroup, logger: Logger) {
        let session = configuration.session
        switch session.store {
        case .memory:
            self.redis = nil
            self.store = MemorySessionStore(idleTimeout: session.idleTimeout, absoluteTimeout: session.absoluteTimeout)
        case .redis:
            let redisConfiguration = configuration.redis
            var clientConfiguration = RedisClientConfiguration(
                host: redisConfiguration.address.host, port: redisConfiguration.address.port,
                connections: redisConfiguration.connections, connectTimeout: redisConfiguration.timeout,
                commandTimeout: redisConfiguration.timeout)
            clientConfiguration.username = redisConfiguration.username
            clientConfiguration.password = redisConfiguration.password
            clientConfiguration.database = redisConfiguration.database
            let client = RedisClient(configuration: clientConfiguration, eventLoopGroup: group, logger: logger)
            self.redis = client
            self.store = RedisSessionStore(
                client: client, keyPrefix: redisConfiguration.keyPrefix, idleTimeout: session.idleTimeout,
                absoluteTimeout: session.absoluteTimeout)
        }
    }
}
