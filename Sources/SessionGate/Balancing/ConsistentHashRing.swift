/// A consistent-hash ring, built once per configuration load; each lookup is a binary search and a short walk.
///
/// Server `i` owns `pointsPerWeight × weight` points, point `p` at `StableHash("<host:port>#<p>")` with the address as
/// configured, so the ring (and therefore where each key goes) is the same in every instance and after restarts, and
/// does not depend on the order of `servers`. A key belongs to the first point at or after its hash, wrapping around.
/// Removing a server moves only the keys of its points (each to the next point's server); adding one takes about
/// `weight / total weight` of the keys, from every other server.
struct ConsistentHashRing: Sendable {
    /// Points per unit of weight. nginx uses 160, which leaves a server's share up to ±19% off its weight (the
    /// spread of a share falls like 1/√points only); 8192 keeps it within about ±3%, at 12 bytes a point.
    static let pointsPerWeight = 8192
    /// At most this many points (24 MB): past it, fewer points per unit of weight.
    static let maxPoints = 1 << 21

    private let hashes: [UInt64]
    private let owners: [UInt32]
    let serverCount: Int

    /// - Parameter servers: each server's stable name (its configured `host:port`) and weight (at least 1).
    init(servers: [(name: String, weight: Int)], pointsPerWeight: Int? = nil) {
        let totalWeight = max(1, servers.reduce(0) { $0 + $1.weight })
        let pointsPerWeight = pointsPerWeight ?? min(Self.pointsPerWeight, Self.maxPoints / totalWeight)
        var points: [(hash: UInt64, owner: UInt32)] = []
        points.reserveCapacity(servers.reduce(0) { $0 + $1.weight * pointsPerWeight })
        for (owner, server) in servers.enumerated() {
            let prefix = StableHash.state(after: server.name + "#")
            for point in 0..<(server.weight * pointsPerWeight) {
                points.append((StableHash.hash(after: prefix, number: point), UInt32(owner)))
            }
        }
        // Ties (vanishingly rare) are ordered by owner index so every instance builds the same ring.
        points.sort { $0.hash != $1.hash ? $0.hash < $1.hash : $0.owner < $1.owner }
        self.hashes = points.map(\.hash)
        self.owners = points.map(\.owner)
        self.serverCount = servers.count
    }

    /// The server owning `key`'s point, with nothing excluded.
    func owner(of key: UInt64) -> Int { Int(owners[firstPoint(atOrAfter: key)]) }

    /// Walks clockwise from `key` and returns the first server `accept` takes; each server is offered once, in ring
    /// order. Nil when every server was refused.
    func server(for key: UInt64, accept: (Int) -> Bool) -> Int? {
        guard !hashes.isEmpty else { return nil }
        var seen = ServerSet()
        var position = firstPoint(atOrAfter: key)
        for _ in 0..<hashes.count {
            let owner = Int(owners[position])
            if !seen.contains(owner) {
                if accept(owner) { return owner }
                seen.insert(owner)
                if seen.count == serverCount { return nil }
            }
            position += 1
            if position == hashes.count { position = 0 }
        }
        return nil
    }

    /// The index of the first point whose hash is `key` or more, wrapping to 0 past the last.
    private func firstPoint(atOrAfter key: UInt64) -> Int {
        var low = 0
        var high = hashes.count
        while low < high {
            let middle = (low + high) / 2
            if hashes[middle] < key { low = middle + 1 } else { high = middle }
        }
        return low == hashes.count ? 0 : low
    }
}
