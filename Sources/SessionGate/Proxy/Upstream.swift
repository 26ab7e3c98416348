import NIOCore

/// An upstream server with its address resolved once, at start-up.
struct UpstreamServer: Sendable {
    /// Index among all servers of all upstreams: the key of per-server pools.
    let id: Int
    /// Index among its upstream's servers: how the balancer names it.
    let index: Int
    let address: SocketAddress
    /// `host:port` as configured, for logs.
    let label: String
}

/// An `[[upstream]]` ready for use.
///
/// A class, not a struct: each request takes its upstream and keeps it in the connect callback, and copying a
/// struct of this size retains every reference it holds, on every request.
final class Upstream: Sendable {
    let name: String
    let servers: [UpstreamServer]
    let connectTimeout: TimeAmount
    let responseTimeout: TimeAmount
    /// Idle keep-alive connections kept per server and event loop (`max_idle`).
    let maxIdle: Int
    /// Idle keep-alive connections older than this are closed (`idle_timeout`).
    let idleTimeout: TimeAmount
    /// Chooses a server per attempt; shared by every event loop.
    let balancer: SharedBalancer
    /// What a request is hashed on (`ip_hash`: the client address; `consistent_hash`: `hash_key`); nil for the
    /// policies that hash nothing.
    let hashKey: HashKey?
    /// Further servers tried after a failed attempt (`retries`).
    let retries: Int
    /// Active probes, if configured (`health_check`).
    let healthCheck: HealthCheckConfiguration?

    init(
        name: String, servers: [UpstreamServer], connectTimeout: TimeAmount, responseTimeout: TimeAmount, maxIdle: Int,
        idleTimeout: TimeAmount, balancer: SharedBalancer, hashKey: HashKey?, retries: Int,
        healthCheck: HealthCheckConfiguration?
    ) {
        self.name = name
        self.servers = servers
        self.connectTimeout = connectTimeout
        self.responseTimeout = responseTimeout
        self.maxIdle = maxIdle
        self.idleTimeout = idleTimeout
        self.balancer = balancer
        self.hashKey = hashKey
        self.retries = retries
        self.healthCheck = healthCheck
    }

    /// Resolves every upstream's servers (a blocking DNS look-up, so only ever at start-up).
    /// - Throws: ``ConfigurationError`` naming each server that cannot be resolved.
    static func resolve(_ configurations: [UpstreamConfiguration], file: String) throws -> [Upstream] {
        var problems: [ConfigProblem] = []
        var nextID = 0
        let upstreams = configurations.enumerated().map { upstreamIndex, configuration in
            let servers = configuration.servers.enumerated().compactMap { serverIndex, hostPort -> UpstreamServer? in
                do {
                    let address = try SocketAddress.makeAddressResolvingHost(hostPort.host, port: hostPort.port)
                    defer { nextID += 1 }
                    return UpstreamServer(id: nextID, index: serverIndex, address: address, label: hostPort.description)
                } catch {
                    problems.append(ConfigProblem(
                        line: nil, key: "upstream[\(upstreamIndex)].servers[\(serverIndex)]",
                        message: "\"\(hostPort)\" cannot be resolved: \(error)"))
                    return nil
                }
            }
            return Upstream(
                name: configuration.name, servers: servers, connectTimeout: configuration.connectTimeout,
                responseTimeout: configuration.responseTimeout, maxIdle: configuration.maxIdle,
                idleTimeout: configuration.idleTimeout, balancer: SharedBalancer(UpstreamBalancer(configuration)),
                hashKey: configuration.hashedKey, retries: configuration.retries, healthCheck: configuration.healthCheck)
        }
        guard problems.isEmpty else { throw ConfigurationError(file: file, problems: problems) }
        return upstreams
    }
}

extension UpstreamBalancer {
    /// The balancer of a configured upstream; servers are named by their configured `host:port` on the ring.
    init(_ configuration: UpstreamConfiguration) {
        self.init(
            policy: configuration.balance, names: configuration.servers.map(\.description), weights: configuration.weights,
            hashBalanceFactor: configuration.hashBalanceFactor, maxFails: configuration.maxFails,
            failTimeout: configuration.failTimeout, healthy: configuration.healthCheck?.healthy ?? 1,
            unhealthy: configuration.healthCheck?.unhealthy ?? 1)
    }
}

extension UpstreamConfiguration {
    /// The request key the policy hashes, if any.
    var hashedKey: HashKey? {
        switch balance {
        case .roundRobin, .leastConn: return nil
        case .ipHash: return .ip
        case .consistentHash: return hashKey
        }
    }
}
