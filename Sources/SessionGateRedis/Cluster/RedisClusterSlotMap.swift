/// Which master serves each hash slot: the routing table of ``RedisClusterClient``, a pure value without I/O.
///
/// Built from a `CLUSTER SHARDS` (Redis 7) or `CLUSTER SLOTS` reply, corrected slot by slot by `MOVED`
/// redirections between two full refreshes. Unassigned slots have no owner; commands for them need a refresh first.
public struct RedisClusterSlotMap: Sendable, Equatable {
    /// The masters in the order first seen; slots refer to them by index.
    public private(set) var masters: [RedisNodeAddress] = []
    /// The owner of every slot as an index into ``masters``, or -1.
    private var owners: [Int16] = Array(repeating: -1, count: RedisClusterSlot.count)

    public init() {}

    /// Whether every slot has an owner (a healthy cluster); a refresh should follow when not.
    public var isComplete: Bool { !owners.contains(-1) }

    /// Whether no slot has an owner (nothing learned yet).
    public var isEmpty: Bool { !owners.contains { $0 >= 0 } }

    /// The master serving `slot`, if known.
    public func master(forSlot slot: Int) -> RedisNodeAddress? {
        let owner = owners[slot]
        return owner >= 0 ? masters[Int(owner)] : nil
    }

    /// The slots `master` serves, ascending.
    public func slots(of master: RedisNodeAddress) -> [Int] {
        guard let index = masters.firstIndex(of: master) else { return [] }
        return owners.indices.filter { owners[$0] == Int16(index) }
    }

    /// Assigns a range of slots to a master.
    public mutating func assign(_ slots: ClosedRange<Int>, to master: RedisNodeAddress) {
        let index = self.index(of: master)
        for slot in slots.clamped(to: 0...(RedisClusterSlot.count - 1)) {
            owners[slot] = index
        }
    }

    /// What a `MOVED` redirection means for the map.
    public enum MovedAction: Sendable, Equatable {
        /// The slot now points at the new owner; retry there.
        case retry(RedisNodeAddress)
        /// The new owner is one the map did not know: retry there, and refresh the whole map (the topology changed
        /// in more ways than one slot, e.g. a failover or a new node).
        case retryAndRefresh(RedisNodeAddress)
    }

    /// Applies a `MOVED slot host:port`: that slot is now served by that node.
    public mutating func moved(slot: Int, to address: RedisNodeAddress) -> MovedAction {
        let known = masters.contains(address)
        owners[slot] = index(of: address)
        pruneUnusedMasters()
        return known ? .retry(address) : .retryAndRefresh(address)
    }

    /// Builds a map from a `CLUSTER SHARDS` reply (Redis 7): per shard, `slots` (pairs of bounds) and `nodes` (each a
    /// flat map with `ip`/`endpoint`, `port`, `role`, `health`). A shard without an online master is left unassigned.
    /// - Returns: nil if the reply does not have that shape.
    public static func fromShards(_ reply: RedisValue) -> RedisClusterSlotMap? {
        guard let shards = reply.array else { return nil }
        var map = RedisClusterSlotMap()
        for shard in shards {
            guard let fields = flatMap(shard), let bounds = fields["slots"]?.array, let nodes = fields["nodes"]?.array
            else { return nil }
            let master = nodes.compactMap(flatMap).first {
                $0["role"]?.string == "master" && ($0["health"]?.string ?? "online") == "online"
            }
            guard let master, let port = master["port"]?.int ?? master["tls-port"]?.int,
                let host = endpoint(master["endpoint"]?.string, ip: master["ip"]?.string)
            else { continue }
            let address = RedisNodeAddress(host: host, port: Int(port))
            var index = 0
            while index + 1 < bounds.count {
                guard let start = bounds[index].int, let end = bounds[index + 1].int, start <= end else { return nil }
                map.assign(Int(start)...Int(end), to: address)
                index += 2
            }
        }
        return map
    }

    /// Builds a map from a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id], replicas...], ...]`.
    /// - Returns: nil if the reply does not have that shape.
    public static func fromSlots(_ reply: RedisValue) -> RedisClusterSlotMap? {
        guard let ranges = reply.array else { return nil }
        var map = RedisClusterSlotMap()
        for range in ranges {
            guard let items = range.array, items.count >= 3, let start = items[0].int, let end = items[1].int,
                start <= end, let node = items[2].array, node.count >= 2, let port = node[1].int,
                let host = endpoint(node[0].string, ip: nil)
            else { return nil }
            map.assign(Int(start)...Int(end), to: RedisNodeAddress(host: host, port: Int(port)))
        }
        return map
    }

    // MARK: Private

    private mutating func index(of master: RedisNodeAddress) -> Int16 {
        if let index = masters.firstIndex(of: master) {
            return Int16(index)
        }
        masters.append(master)
        return Int16(masters.count - 1)
    }

    /// Drops masters that no longer own a slot, renumbering the owners.
    private mutating func pruneUnusedMasters() {
        var used = Array(repeating: false, count: masters.count)
        for owner in owners where owner >= 0 { used[Int(owner)] = true }
        guard used.contains(false) else { return }
        var renumbered = Array(repeating: Int16(-1), count: masters.count)
        var kept: [RedisNodeAddress] = []
        for (index, isUsed) in used.enumerated() where isUsed {
            renumbered[index] = Int16(kept.count)
            kept.append(masters[index])
        }
        masters = kept
        for slot in owners.indices where owners[slot] >= 0 {
            owners[slot] = renumbered[Int(owners[slot])]
        }
    }

    /// A node's reachable host: its endpoint unless that is empty or `?` (unknown), else its IP.
    private static func endpoint(_ endpoint: String?, ip: String?) -> String? {
        if let endpoint, !endpoint.isEmpty, endpoint != "?" {
            return endpoint
        }
        if let ip, !ip.isEmpty {
            return ip
        }
        return nil
    }

    /// A RESP2 flat map `[k1, v1, k2, v2, ...]` as a dictionary keyed by the string keys.
    private static func flatMap(_ value: RedisValue) -> [String: RedisValue]? {
        guard let items = value.array, items.count % 2 == 0 else { return nil }
        var result: [String: RedisValue] = [:]
        for index in stride(from: 0, to: items.count, by: 2) {
            guard let key = items[index].string else { return nil }
            result[key] = items[index + 1]
        }
        return result
    }
}
