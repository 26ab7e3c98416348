/// `ip_hash` as nginx does it: the key's hash modulo the total weight picks a server in proportion to its weight;
/// when that server cannot take the request, the hash is mixed again, up to 20 times, before giving up.
///
/// Cheap and stateless, but not minimal-disruption: adding or removing a server moves most keys. A server that is
/// only down keeps its keys, which go elsewhere while it is down and return when it is back. For keys that must stay
/// put when the server list changes, use `consistent_hash`.
struct WeightedHash: Sendable {
    static let maxRehashes = 20

    /// Cumulative weights: server `i` owns `[bounds[i-1], bounds[i])`.
    private let bounds: [Int]

    init(weights: [Int]) {
        var total = 0
        bounds = weights.map { weight in
            total += weight
            return total
        }
    }

    /// The first server `accept` takes among those the key's successive hashes name, or nil after
    /// ``maxRehashes`` refusals.
    func server(for key: UInt64, accept: (Int) -> Bool) -> Int? {
        guard let total = bounds.last, total > 0 else { return nil }
        var hash = key
        for _ in 0...Self.maxRehashes {
            let slot = Int(hash % UInt64(total))
            var low = 0
            var high = bounds.count - 1
            while low < high {
                let middle = (low + high) / 2
                if bounds[middle] <= slot { low = middle + 1 } else { high = middle }
            }
            if accept(low) { return low }
            hash = StableHash.mix(hash &+ 0x9e37_79b9_7f4a_7c15)
        }
        return nil
    }
}
