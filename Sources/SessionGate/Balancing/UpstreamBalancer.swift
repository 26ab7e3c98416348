import NIOCore

/// Chooses a server of one upstream for each attempt, and keeps what the choice depends on: each server's in-flight
/// count and health. A pure value: the proxy shares one per upstream behind a lock (``SharedBalancer``); tests drive
/// it directly with their own clock.
///
/// Every ``pick(key:excluding:now:)`` that returns a server counts one request in flight on it until the matching
/// ``finish(_:outcome:now:)``.
struct UpstreamBalancer: Sendable {
    /// How a pick is made (from ``BalancingPolicy``, with what each policy needs built once).
    enum Strategy: Sendable {
        case roundRobin
        case leastConn
        case ipHash(WeightedHash)
        /// `factor` nil: plain consistent hashing (no load bound).
        case consistentHash(ConsistentHashRing, factor: Double?)
    }

    /// How an attempt on a server ended, for its passive health.
    enum Outcome: Sendable {
        /// The server answered.
        case success
        /// The server could not be reached or lost the request (connect error, timeout, closed before answering).
        case failure
        /// Says nothing about the server (the client went away first).
        case neutral
    }

    let strategy: Strategy
    let weights: [Int]
    private var roundRobin: SmoothWeightedRoundRobin
    private(set) var inFlight: [Int]
    private var passive: [PassiveHealth]
    private var active: [ActiveHealth]

    /// - Parameters:
    ///   - names: each server's stable name (its configured `host:port`), which places it on a hash ring.
    ///   - weights: each server's weight (at least 1).
    ///   - ringPointsPerWeight: the hash ring's resolution (nil: ``ConsistentHashRing/pointsPerWeight``); tests of
    ///     properties other than the key distribution use fewer points to build faster.
    init(policy: BalancingPolicy, names: [String], weights: [Int], hashBalanceFactor: Double? = 1.25,
         maxFails: Int = 1, failTimeout: TimeAmount = .seconds(10), healthy: Int = 2, unhealthy: Int = 2,
         ringPointsPerWeight: Int? = nil) {
        switch policy {
        case .roundRobin: strategy = .roundRobin
        case .leastConn: strategy = .leastConn
        case .ipHash: strategy = .ipHash(WeightedHash(weights: weights))
        case .consistentHash:
            strategy = .consistentHash(
                ConsistentHashRing(servers: Array(zip(names, weights)), pointsPerWeight: ringPointsPerWeight),
                factor: hashBalanceFactor)
        }
        self.weights = weights
        self.roundRobin = SmoothWeightedRoundRobin(weights: weights)
        self.inFlight = Array(repeating: 0, count: weights.count)
        // As in nginx, a lone server is never marked down by failures: there is nowhere else to send its requests.
        let passiveHealth = PassiveHealth(maxFails: weights.count == 1 ? 0 : maxFails, failTimeout: failTimeout)
        self.passive = Array(repeating: passiveHealth, count: weights.count)
        self.active = Array(repeating: ActiveHealth(healthy: healthy, unhealthy: unhealthy), count: weights.count)
    }

    /// Whether `server` may take requests: healthy to the probes and not marked down by failures.
    func isAvailable(_ server: Int, at now: NIODeadline) -> Bool {
        active[server].isHealthy && passive[server].isAvailable(at: now)
    }

    /// The passive state of `server`, for logs and tests.
    func passiveStatus(_ server: Int, at now: NIODeadline) -> PassiveHealth.Status { passive[server].status(at: now) }

    /// Chooses a server for one attempt and counts it in flight.
    ///
    /// - Parameters:
    ///   - key: the request's hash for `ip_hash` and `consistent_hash`; nil (the key is missing on the request)
    ///     falls back to round robin.
    ///   - tried: servers this request already tried; never chosen again.
    /// - Returns: nil when no untried server is available. If that is because every server is down (and none was
    ///   tried), the failure counts are cleared as nginx does, so the next request tries them again.
    mutating func pick(key: UInt64?, excluding tried: ServerSet = ServerSet(), now: NIODeadline) -> Int? {
        let chosen = choose(key: key, tried: tried, now: now)
        if let chosen {
            inFlight[chosen] += 1
        } else if tried.isEmpty {
            for index in passive.indices { passive[index].recordSuccess() }
        }
        return chosen
    }

    /// Ends an attempt that ``pick(key:excluding:now:)`` started.
    mutating func finish(_ server: Int, outcome: Outcome, now: NIODeadline) {
        inFlight[server] -= 1
        switch outcome {
        case .success: passive[server].recordSuccess()
        case .failure: passive[server].recordFailure(at: now)
        case .neutral: break
        }
    }

    /// Records an active probe. - Returns: true when the server just became healthy again (its failure count is
    /// cleared too, so it takes requests at once).
    @discardableResult
    mutating func recordProbe(_ server: Int, passed: Bool) -> Bool {
        let recovered = active[server].record(passed: passed)
        if recovered { passive[server].recordSuccess() }
        return recovered
    }

    /// Whether the probes currently consider `server` healthy.
    func isHealthyToProbes(_ server: Int) -> Bool { active[server].isHealthy }

    private mutating func choose(key: UInt64?, tried: ServerSet, now: NIODeadline) -> Int? {
        // Copies (reference-counted, not copied storage), so the closure does not read `self` while a pick mutates it.
        let passive = self.passive
        let active = self.active
        // A local function, not a closure value: passed only as a non-escaping argument, its captures stay on the
        // stack (a closure held in a `let` was allocated on every pick).
        func eligible(_ server: Int) -> Bool {
            !tried.contains(server) && active[server].isHealthy && passive[server].isAvailable(at: now)
        }
        switch strategy {
        case .roundRobin:
            return roundRobin.next(where: eligible)
        case .leastConn:
            return leastConnections(eligible: eligible)
        case .ipHash(let hash):
            guard let key else { return roundRobin.next(where: eligible) }
            // nginx gives up after 20 rehashes and falls back to round robin.
            return hash.server(for: key, accept: eligible) ?? roundRobin.next(where: eligible)
        case .consistentHash(let ring, let factor):
            guard let key else { return roundRobin.next(where: eligible) }
            guard let factor else { return ring.server(for: key, accept: eligible) }
            let inFlight = self.inFlight
            let bound = LoadBound(factor: factor, weights: weights, inFlight: inFlight, eligible: eligible)
            return ring.server(for: key) { eligible($0) && bound.hasRoom($0, inFlight: inFlight[$0]) }
                ?? ring.server(for: key, accept: eligible)
        }
    }

    /// Fewest in flight relative to weight (`inFlight / weight`, compared by cross-multiplying); ties go to smooth
    /// weighted round robin among the tied servers, as in nginx's `least_conn`.
    private mutating func leastConnections(eligible: (Int) -> Bool) -> Int? {
        let inFlight = self.inFlight
        let weights = self.weights
        var best: Int?
        var tied = ServerSet()
        for server in weights.indices where eligible(server) {
            guard let current = best else {
                best = server
                tied.insert(server)
                continue
            }
            let lhs = inFlight[server] * weights[current]
            let rhs = inFlight[current] * weights[server]
            if lhs < rhs {
                best = server
                tied = ServerSet()
                tied.insert(server)
            } else if lhs == rhs {
                tied.insert(server)
            }
        }
        guard let best else { return nil }
        if tied.count == 1 { return best }
        return roundRobin.next(where: { tied.contains($0) })
    }
}
