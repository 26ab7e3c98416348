/// A set of server indices within one upstream: the servers a request has already tried, or the servers a ring walk
/// has already seen. Up to 64 servers it is one word and never allocates.
struct ServerSet: Sendable, Equatable {
    private var low: UInt64 = 0
    private var high: Set<Int> = []
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    func contains(_ server: Int) -> Bool {
        server < 64 ? low & (1 << UInt64(server)) != 0 : high.contains(server)
    }

    mutating func insert(_ server: Int) {
        guard !contains(server) else { return }
        if server < 64 { low |= 1 << UInt64(server) } else { high.insert(server) }
        count += 1
    }
}
