import NIOCore

/// The `[redis]` keys for running on Sentinel or Cluster, and for `WAIT` durability.
public struct RedisTopologyConfiguration: Sendable {
    /// `sentinels`: the sentinels' `host:port` (mode = "sentinel", required).
    public var sentinels: [HostPort] = []
    /// `master_name`: the name the sentinels monitor the master under (mode = "sentinel", required).
    public var masterName: String = ""
    /// `sentinel_password`: `AUTH` for the sentinels, if they require one.
    public var sentinelPassword: String? = nil
    /// `read_from_replicas`: validation reads a replica first, falling back to the master on a miss, and refreshes the
    /// sliding expiry on the master only when it is more than `refresh_interval` behind (mode = "sentinel"). Default
    /// false.
    public var readFromReplicas: Bool = false
    /// `nodes`: some of the cluster's nodes, to learn the slot map from (mode = "cluster", required).
    public var nodes: [HostPort] = []
    /// `min_replicas_ack`: replicas that must acknowledge (`WAIT`) a session write before it is answered. Default 0.
    public var minReplicasAck: Int = 0
    /// `replica_ack_timeout`: how long `WAIT` may take. Default 100 ms; must be below `timeout`.
    public var replicaAckTimeout: TimeAmount = .milliseconds(100)
    public init() {}
}

extension RedisConfiguration {
    /// Where Redis is, for messages: the address, the sentinels and master name, or the cluster's seed nodes.
    public var endpointDescription: String {
        switch mode {
        case .standalone: return "\(address)"
        case .sentinel:
            return "master \"\(topology.masterName)\" of sentinels \(topology.sentinels.map(\.description).joined(separator: ", "))"
        case .cluster: return "cluster nodes \(topology.nodes.map(\.description).joined(separator: ", "))"
        }
    }
}

extension ConfigurationReader {
    /// Reads `sentinels`, `master_name`, `sentinel_password`, `read_from_replicas`, `nodes`, `min_replicas_ack`,
    /// `replica_ack_timeout` (all of them in every mode, so typos are caught), and checks they fit `mode`.
    func readTopology(_ table: ConfigTable, into redis: inout RedisConfiguration, localCache: Bool) {
        var topology = RedisTopologyConfiguration()
        let sentinels = addresses(table, "sentinels")
        topology.sentinels = sentinels ?? []
        topology.masterName = table.string("master_name", default: "")
        topology.sentinelPassword = table.string("sentinel_password")
        topology.readFromReplicas = table.bool("read_from_replicas", default: false)
        let nodes = addresses(table, "nodes")
        topology.nodes = nodes ?? []
        topology.minReplicasAck = table.int("min_replicas_ack", default: 0, range: 0...64)
        topology.replicaAckTimeout = table.duration("replica_ack_timeout", default: topology.replicaAckTimeout)
        if topology.replicaAckTimeout >= redis.timeout {
            table.problem(
                "replica_ack_timeout",
                "\(ConfigDuration.format(topology.replicaAckTimeout)) must be less than timeout (\(ConfigDuration.format(redis.timeout))), which bounds every command, WAIT included")
        }
        let given = { (key: String) in table.value(key) != nil }
        switch redis.mode {
        case .standalone:
            for key in ["sentinels", "master_name", "sentinel_password", "read_from_replicas", "nodes"] where given(key) {
                table.problem(key, "is only used with mode = \"\(key == "nodes" ? "cluster" : "sentinel")\"")
            }
        case .sentinel:
            if topology.readFromReplicas && localCache {
                table.problem(
                    "read_from_replicas",
                    "cannot be combined with [session] local_cache = true (the near-cache already keeps reads off the master)")
            }
            if sentinels == nil { table.problem("sentinels", "is required with mode = \"sentinel\" (an array of \"host:port\" strings)") }
            if topology.masterName.isEmpty { table.problem("master_name", "is required with mode = \"sentinel\"") }
            for key in ["address", "nodes"] where given(key) {
                table.problem(key, "is not used with mode = \"sentinel\" (the sentinels name the master)")
            }
        case .cluster:
            if nodes == nil { table.problem("nodes", "is required with mode = \"cluster\" (an array of \"host:port\" strings)") }
            if redis.database != 0 { table.problem("database", "must be 0 with mode = \"cluster\" (a cluster has one database)") }
            for key in ["address", "sentinels", "master_name", "sentinel_password", "read_from_replicas"] where given(key) {
                table.problem(key, "is not used with mode = \"cluster\"")
            }
        }
        redis.topology = topology
    }

    /// A non-empty array of `host:port` strings, each checked; nil when the key is absent.
    private func addresses(_ table: ConfigTable, _ key: String) -> [HostPort]? {
        guard let list = table.indexedStringArray(key) else { return nil }
        var result: [HostPort] = []
        for (index, text) in list {
            switch HostPort.parse(text) {
            case .success(let address): result.append(address)
            case .failure(let error): problems.add("\(table.keyPath(key))[\(index)]", "\"\(text)\": \(error)")
            }
        }
        if list.isEmpty { table.problem(key, "must list at least one \"host:port\"") }
        return result
    }
}
