import Logging
import NIOCore
import SessionGateRedis

extension SessionStoreFactory {
    /// The client for `[redis] mode`: one server, the master named by the sentinels, or a cluster.
    /// - Parameter node: Credentials, database, connection count and timeouts of a data node.
    static func makeClient(
        _ redis: RedisConfiguration, _ node: RedisClientConfiguration, group: EventLoopGroup, logger: Logger,
        invalidations: RedisInvalidationSubscription? = nil
    ) -> any RedisCommandRouting {
        let topology = redis.topology
        switch redis.mode {
        case .standalone:
            return RedisClient(configuration: node, eventLoopGroup: group, logger: logger, invalidations: invalidations)
        case .sentinel:
            var configuration = RedisSentinelClient.Configuration(
                sentinels: topology.sentinels.map { RedisNodeAddress(host: $0.host, port: $0.port) },
                masterName: topology.masterName, node: node)
            configuration.sentinelPassword = topology.sentinelPassword
            configuration.readFromReplicas = topology.readFromReplicas
            return RedisSentinelClient(
                configuration: configuration, eventLoopGroup: group, logger: logger, invalidations: invalidations)
        case .cluster:
            // The near-cache is refused for cluster mode when the configuration is read (tracking is per node).
            let configuration = RedisClusterClient.Configuration(
                seeds: topology.nodes.map { RedisNodeAddress(host: $0.host, port: $0.port) }, node: node)
            return RedisClusterClient(configuration: configuration, eventLoopGroup: group, logger: logger)
        }
    }
}
