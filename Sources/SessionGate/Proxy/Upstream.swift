import NIOCore

/// An upstream server with its address resolved once, at start-up.
struct UpstreamServer: Sendable {
    /// Index among all servers of all upstreams: the key of per-server pools.
    let id: Int
    let address: SocketAddress
    /// `host:port` as configured, for logs.
    let label: String
}

/// An `[[upstream]]` ready for use.
struct Upstream: Sendable {
    let name: String
    let servers: [UpstreamServer]
    let connectTimeout: TimeAmount
    let responseTimeout: TimeAmount
    /// Idle keep-alive connections kept per server and event loop (`max_idle`).
    let maxIdle: Int

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
                    return UpstreamServer(id: nextID, address: address, label: hostPort.description)
                } catch {
                    problems.append(ConfigProblem(
                        line: nil, key: "upstream[\(upstreamIndex)].servers[\(serverIndex)]",
                        message: "\"\(hostPort)\" cannot be resolved: \(error)"))
                    return nil
                }
            }
            return Upstream(
                name: configuration.name, servers: servers, connectTimeout: configuration.connectTimeout,
                responseTimeout: configuration.responseTimeout, maxIdle: configuration.maxIdle)
        }
        guard problems.isEmpty else { throw ConfigurationError(file: file, problems: problems) }
        return upstreams
    }
}
