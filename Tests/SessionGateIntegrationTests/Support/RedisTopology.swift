import Foundation
import Logging
import NIOCore
import NIOPosix
import SessionGateRedis

@testable import SessionGate

/// A real Redis Cluster on loopback ports (three masters, optionally a replica each), made with
/// `redis-cli --cluster create`.
///
/// Each node is a ``RedisServer`` (stopped by PID when released) with its cluster bus on a port of its own and its
/// `nodes.conf` in the temporary directory, removed by ``stop()``.
final class RedisClusterFixture: Sendable {
    let nodes: [RedisServer]
    private let configFiles: [String]

    private init(nodes: [RedisServer], configFiles: [String]) {
        self.nodes = nodes
        self.configFiles = configFiles
    }

    /// Starts `masters` nodes (and `replicas` per master), joins them into a cluster and waits until every node
    /// reports `cluster_state:ok` and every replica is linked.
    static func start(masters: Int = 3, replicas: Int = 0) async throws -> RedisClusterFixture {
        var nodes: [RedisServer] = []
        var files: [String] = []
        for _ in 0..<(masters * (1 + replicas)) {
            let file = "sessiongate-nodes-\(UUID().uuidString).conf"
            files.append(FileManager.default.temporaryDirectory.appendingPathComponent(file).path)
            nodes.append(
                try await RedisServer.start(extraArguments: [
                    "--cluster-enabled", "yes", "--cluster-config-file", file, "--cluster-node-timeout", "2000",
                    "--cluster-port", String(try freeLoopbackPort()),
                ]))
        }
        let fixture = RedisClusterFixture(nodes: nodes, configFiles: files)
        try nodes[0].command(
            arguments: ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
                + ["--cluster-replicas", String(replicas), "--cluster-yes"])
        try await fixture.waitUntilHealthy()
        return fixture
    }

    /// Waits until every node says `cluster_state:ok` and agrees on who owns all slots.
    func waitUntilHealthy(timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let states = try nodes.map { try $0.command("CLUSTER", "INFO") }
            let replication = try nodes.map { try $0.command("INFO", "replication") }
            let everySlotServed = try nodes.allSatisfy { try servesEverySlot(seenBy: $0) }
            if states.allSatisfy({ $0.contains("cluster_state:ok") })
                && replication.allSatisfy({ $0.contains("role:master") || $0.contains("master_link_status:up") })
                && everySlotServed
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw RedisTopologyError.notReady("cluster not healthy within \(timeout)")
    }

    /// The node id of `node` (`CLUSTER MYID`).
    func id(of node: RedisServer) throws -> String {
        try node.command("CLUSTER", "MYID")
    }

    /// The slot ranges each master serves, from `CLUSTER NODES` as `node` sees it.
    func slotRanges(seenBy node: RedisServer? = nil) throws -> [(node: RedisServer, slots: ClosedRange<Int>)] {
        var result: [(node: RedisServer, slots: ClosedRange<Int>)] = []
        let viewer = node ?? nodes.first { $0.pid != nil } ?? nodes[0]
        for line in try viewer.command("CLUSTER", "NODES").split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: " ")
            guard fields.count >= 9, fields[2].contains("master"), !fields[2].contains("fail"),
                let port = fields[1].split(separator: "@").first?.split(separator: ":").last,
                let server = nodes.first(where: { String($0.port) == port })
            else { continue }
            for range in fields[8...] where !range.hasPrefix("[") {
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                if let low = bounds.first, let high = bounds.last {
                    result.append((server, low...high))
                }
            }
        }
        return result
    }

    /// The master serving `slot`.
    /// Polled for up to 5 s: on a loaded machine a node may briefly flag a healthy master as possibly failing
    /// (`fail?`), and `slotRanges` leaves such a master out.
    func owner(ofSlot slot: Int) throws -> RedisServer {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            if let owner = try slotRanges().first(where: { $0.slots.contains(slot) })?.node { return owner }
            guard ContinuousClock.now < deadline else { throw RedisTopologyError.notReady("no owner of slot \(slot)") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Whether `node` sees a healthy master for every one of the 16,384 slots.
    private func servesEverySlot(seenBy node: RedisServer) throws -> Bool {
        try slotRanges(seenBy: node).reduce(0) { $0 + $1.slots.count } == 16384
    }

    /// The lowest slot `node` serves.
    func firstSlot(of node: RedisServer) throws -> Int {
        guard let slot = try slotRanges().filter({ $0.node === node }).map(\.slots.lowerBound).min() else {
            throw RedisTopologyError.notReady("node \(node.port) serves no slot")
        }
        return slot
    }

    func stop() {
        for node in nodes { node.stop() }
        for file in configFiles { unlink(file) }
    }
}

/// A master, one replica and three sentinels monitoring them as `sessions`, all on loopback ports.
final class RedisSentinelFixture: Sendable {
    static let masterName = "sessions"
    let master: RedisServer
    let replica: RedisServer
    let sentinels: [RedisServer]
    private let configFiles: [String]

    private init(master: RedisServer, replica: RedisServer, sentinels: [RedisServer], configFiles: [String]) {
        self.master = master
        self.replica = replica
        self.sentinels = sentinels
        self.configFiles = configFiles
    }

    /// Starts everything and waits until every sentinel knows the replica and the two other sentinels (so a
    /// failover can be agreed on). `down-after-milliseconds` 1000, `failover-timeout` 3000.
    static func start() async throws -> RedisSentinelFixture {
        let master = try await RedisServer.start()
        let replica = try await RedisServer.start(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)])
        var sentinels: [RedisServer] = []
        var files: [String] = []
        for _ in 0..<3 {
            let file = FileManager.default.temporaryDirectory
                .appendingPathComponent("sessiongate-sentinel-\(UUID().uuidString).conf").path
            let text = """
                sentinel monitor \(masterName) 127.0.0.1 \(master.port) 2
                sentinel down-after-milliseconds \(masterName) 1000
                sentinel failover-timeout \(masterName) 3000
                sentinel parallel-syncs \(masterName) 1

                """
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
            sentinels.append(try await RedisServer.start(extraArguments: ["--sentinel"], configFile: file))
        }
        let fixture = RedisSentinelFixture(master: master, replica: replica, sentinels: sentinels, configFiles: files)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let ready = try sentinels.allSatisfy { sentinel in
                let info = try sentinel.command("SENTINEL", "MASTER", masterName)
                let lines = info.split(whereSeparator: \.isNewline).map(String.init)
                func value(_ name: String) -> String? {
                    lines.firstIndex(of: name).flatMap { lines.indices.contains($0 + 1) ? lines[$0 + 1] : nil }
                }
                return value("num-slaves") == "1" && value("num-other-sentinels") == "2"
            }
            let linked = try replica.command("INFO", "replication").contains("master_link_status:up")
            if ready && linked {
                return fixture
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        fixture.stop()
        throw RedisTopologyError.notReady("sentinels did not discover each other and the replica")
    }

    /// The `[redis]` lines for SessionGate: the three sentinels and the master name.
    var redisSection: String {
        """
        mode = "sentinel"
        sentinels = [\(sentinels.map { "\"127.0.0.1:\($0.port)\"" }.joined(separator: ", "))]
        master_name = "\(Self.masterName)"
        """
    }

    /// The master's address according to the first sentinel.
    func masterPort() throws -> Int? {
        let reply = try sentinels[0].command("SENTINEL", "get-master-addr-by-name", Self.masterName)
        return reply.split(whereSeparator: \.isNewline).last.flatMap { Int($0) }
    }

    func stop() {
        for sentinel in sentinels { sentinel.stop() }
        master.stop()
        replica.stop()
        for file in configFiles { unlink(file) }
    }
}

enum RedisTopologyError: Error, CustomStringConvertible {
    case notReady(String)
    var description: String {
        switch self {
        case .notReady(let what): return what
        }
    }
}

/// A SessionGate proxy in the test process whose `[redis]` section is given (Sentinel or Cluster), with a real
/// upstream; `/app/` requires a session.
final class TopologyProxy: Sendable {
    let upstream: TestUpstream
    let port: Int
    let store: SessionStore
    let client: any RedisCommandRouting
    private let server: ProxyServer
    private let group: MultiThreadedEventLoopGroup

    private init(
        upstream: TestUpstream, port: Int, store: SessionStore, client: any RedisCommandRouting, server: ProxyServer,
        group: MultiThreadedEventLoopGroup
    ) {
        self.upstream = upstream
        self.port = port
        self.store = store
        self.client = client
        self.server = server
        self.group = group
    }

    /// Starts the proxy and waits (up to 10 s) until its Redis client is connected.
    /// - Parameter sessionSection: Extra `[session]` lines, e.g. `local_cache = true`.
    /// A proxy in cluster mode whose seed is the fixture's first node.
    static func start(cluster: RedisClusterFixture) async throws -> TopologyProxy {
        try await start(redisSection: """
            mode = "cluster"
            nodes = ["127.0.0.1:\(cluster.nodes[0].port)"]
            """)
    }

    static func start(redisSection: String, sessionSection: String = "") async throws -> TopologyProxy {
        let upstream = try await TestUpstream.start()
        let port = try freeLoopbackPort()
        let toml = """
            [server]
            listen = "127.0.0.1:\(port)"
            threads = 2

            [session]
            store = "redis"
            cookie_secure = false
            \(sessionSection)

            [redis]
            \(redisSection)
            key_prefix = "sg:"
            connections = 2
            timeout = "500ms"

            [[upstream]]
            name = "app"
            servers = ["127.0.0.1:\(upstream.port)"]
            connect_timeout = "1s"
            response_timeout = "5s"

            [[route]]
            path = "/app/"
            upstream = "app"
            """
        let configuration = try ConfigLoader.parse(toml)
        var logger = Logger(label: "sessiongate-topology-test")
        logger.logLevel = .critical
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let stores = SessionStoreFactory(configuration: configuration, group: group, logger: logger)
        guard let client = stores.redis else { throw RedisTopologyError.notReady("no Redis client") }
        client.start()
        guard await client.waitUntilConnected(timeout: .seconds(10)) else {
            await client.shutdown()
            try? await group.shutdownGracefully()
            await upstream.stop()
            throw RedisTopologyError.notReady("the proxy's Redis client did not connect")
        }
        let server = try ProxyServer(configuration: configuration, store: stores.store, group: group, logger: logger)
        try await server.start()
        return TopologyProxy(upstream: upstream, port: port, store: stores.store, client: client, server: server, group: group)
    }

    /// A GET of `/app/` with the session token in `X-Session-ID`, on a fresh connection; the status.
    func authenticatedStatus(_ token: String) async -> Int? {
        try? await TestHTTPClient.get(port: port, uri: "/app/", headers: [("X-Session-ID", token)], timeout: .seconds(5))
            .status
    }

    func stop() async {
        await server.stop()
        await client.shutdown()
        try? await group.shutdownGracefully()
        await upstream.stop()
    }
}
