import Logging
import NIOConcurrencyHelpers
import NIOCore
import SessionGateRedis

/// Builds the configured session store, and the Redis client behind it when there is one.
public struct SessionStoreFactory {
    public let store: SessionStore
    /// The Redis client (standalone, Sentinel or Cluster), to start and shut down; nil for `store = "memory"`.
    public let redis: (any RedisCommandRouting)?

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
            let topology = redisConfiguration.topology
            guard session.localCache else {
                let client = Self.makeClient(redisConfiguration, clientConfiguration, group: group, logger: logger)
                self.redis = client
                self.store = RedisSessionStore(
                    client: client, keyPrefix: redisConfiguration.keyPrefix, idleTimeout: session.idleTimeout,
                    absoluteTimeout: session.absoluteTimeout, replicaAcks: topology.minReplicasAck,
                    replicaAckTimeout: topology.replicaAckTimeout,
                    replicaReadRefreshInterval: topology.readFromReplicas ? session.effectiveRefreshInterval : nil,
                    // A Cluster runs a script only on keys of one slot; a batch holds any users' sessions.
                    batchingOn: redisConfiguration.mode == .cluster ? nil : group)
                return
            }
            // The near-cache: the client's invalidation connection feeds the cache the store serves from.
            let cache = NIOLockedValueBox(
                SessionNearCache(
                    capacity: session.localCacheSize, idleTimeoutMs: session.idleTimeout.nanoseconds / 1_000_000,
                    refreshIntervalMs: session.effectiveRefreshInterval.nanoseconds / 1_000_000))
            let subscription = RedisInvalidationSubscription(prefix: redisConfiguration.keyPrefix) { event in
                CachingSessionStore.handle(event, cache: cache)
            }
            let client = Self.makeClient(
                redisConfiguration, clientConfiguration, group: group, logger: logger, invalidations: subscription)
            self.redis = client
            self.store = CachingSessionStore(
                client: client, cache: cache, keyPrefix: redisConfiguration.keyPrefix, idleTimeout: session.idleTimeout,
                absoluteTimeout: session.absoluteTimeout, refreshInterval: session.effectiveRefreshInterval,
                replicaAcks: topology.minReplicasAck, replicaAckTimeout: topology.replicaAckTimeout)
        }
    }
}
