import Foundation
import Logging
import NIOCore
import NIOPosix
import SessionGateRedis

@testable import SessionGate

/// A whole SessionGate in the test process: its own real redis-server, a real upstream, and the proxy on a free
/// loopback port, configured from TOML exactly as a user would write it.
///
/// Routes: `/app/` required, `/admin/` required with role `admin`, `/public/` public, `/optional/` optional,
/// `/dead/` public to an upstream whose port nothing listens on. Anything else has no route.
final class ProxyHarness: Sendable {
    let redis: RedisServer
    let upstream: TestUpstream
    let port: Int
    let configuration: ProxyConfiguration
    let store: SessionStore
    private let server: ProxyServer
    private let redisClient: (any RedisCommandRouting)?
    private let group: MultiThreadedEventLoopGroup
    private let ownsRedis: Bool

    struct Options {
        var idleTimeout = "30m"
        var absoluteTimeout = "24h"
        var responseTimeout = "5s"
        var store = "redis"
        var trustedProxies = "[\"127.0.0.1/32\"]"
        var maxIdle = 256
        var localCache = false
        /// A Redis to share (several instances, one store); nil starts one for this harness. A shared one is not
        /// stopped by ``stop()``.
        var redis: RedisServer? = nil
        /// TOML appended to the file, such as an `[auth]` table.
        var extraTOML = ""
        /// When set, replaces the keys of the `app` upstream after its name (`servers`, timeouts, `max_idle`), for
        /// tests that balance over several upstreams of their own.
        var appUpstream: String? = nil
    }

    static func start(_ options: Options = Options()) async throws -> ProxyHarness {
        let redis: RedisServer
        if let shared = options.redis { redis = shared } else { redis = try await RedisServer.start() }
        let upstream = try await TestUpstream.start()
        // A free port can be taken by another test between choosing and binding it: choose again.
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await start(options, redis: redis, upstream: upstream)
            } catch let error as IOError where error.errnoCode == EADDRINUSE && attempt < 5 {
                continue
            }
        }
    }

    private static func start(_ options: Options, redis: RedisServer, upstream: TestUpstream) async throws -> ProxyHarness {
        let port = try freeLoopbackPort()
        let deadPort = try freeLoopbackPort()
        let appUpstream = options.appUpstream ?? """
            servers = ["127.0.0.1:\(upstream.port)"]
            connect_timeout = "1s"
            response_timeout = "\(options.responseTimeout)"
            max_idle = \(options.maxIdle)
            """
        let toml = """
            [server]
            listen = "127.0.0.1:\(port)"
            trusted_proxies = \(options.trustedProxies)
            threads = 2

            [session]
            store = "\(options.store)"
            idle_timeout = "\(options.idleTimeout)"
            absolute_timeout = "\(options.absoluteTimeout)"
            cookie_secure = false
            local_cache = \(options.localCache)

            [redis]
            address = "127.0.0.1:\(redis.port)"
            key_prefix = "sg:"
            connections = 2
            timeout = "300ms"

            [[upstream]]
            name = "app"
            \(appUpstream)

            [[upstream]]
            name = "dead"
            servers = ["127.0.0.1:\(deadPort)"]

            [[route]]
            path = "/app/"
            upstream = "app"

            [[route]]
            path = "/admin/"
            upstream = "app"
            roles = ["admin"]

            [[route]]
            path = "/public/"
            upstream = "app"
            auth = "public"

            [[route]]
            path = "/optional/"
            upstream = "app"
            auth = "optional"

            [[route]]
            path = "/dead/"
            upstream = "dead"
            auth = "public"

            \(options.extraTOML)
            """
        let configuration = try ConfigLoader.parse(toml)
        var logger = Logger(label: "sessiongate-test")
        logger.logLevel = .critical
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.server.threads)
        let stores = SessionStoreFactory(configuration: configuration, group: group, logger: logger)
        stores.redis?.start()
        _ = await stores.redis?.waitUntilConnected(timeout: .seconds(5))
        let server = try ProxyServer(configuration: configuration, store: stores.store, group: group, logger: logger)
        do {
            try await server.start()
        } catch {
            await stores.redis?.shutdown()
            try? await group.shutdownGracefully()
            throw error
        }
        return ProxyHarness(
            redis: redis, upstream: upstream, port: port, configuration: configuration, store: stores.store,
            server: server, redisClient: stores.redis, group: group, ownsRedis: options.redis == nil)
    }

    private init(
        redis: RedisServer, upstream: TestUpstream, port: Int, configuration: ProxyConfiguration, store: SessionStore,
        server: ProxyServer, redisClient: (any RedisCommandRouting)?, group: MultiThreadedEventLoopGroup, ownsRedis: Bool
    ) {
        self.ownsRedis = ownsRedis
        self.redis = redis
        self.upstream = upstream
        self.port = port
        self.configuration = configuration
        self.store = store
        self.server = server
        self.redisClient = redisClient
        self.group = group
    }

    /// Creates a session the way `sessiongate session create` does and returns its token.
    func login(user: String = "42", name: String = "alice", roles: [String] = ["admin", "user"]) async throws -> String {
        try await store.create(NewSession(userID: user, userName: name, roles: roles)).token.rawValue
    }

    /// A GET on a fresh connection.
    func get(_ uri: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await TestHTTPClient.get(port: port, uri: uri, headers: headers)
    }

    /// Requests in flight per server of the `app` upstream, as its balancer counts them.
    var appInFlight: [Int] { server.upstreams[0].balancer.snapshot.inFlight }

    /// The Redis key of a session token, per the documented schema.
    func sessionKey(_ token: String) -> String {
        RedisSessionKeys(prefix: "sg:").session(SessionToken(token)!)
    }

    /// Calls of the session scripts Redis has run so far (EVALSHA and EVAL).
    func scriptCalls() throws -> Int {
        try redis.commandCount("evalsha") + redis.commandCount("eval")
    }

    func stop() async {
        await server.stop()
        await redisClient?.shutdown()
        try? await group.shutdownGracefully()
        await upstream.stop()
        if ownsRedis { redis.stop() }
    }
}

extension TestResponse {
    /// The headers the echo upstream received, as (name, value) pairs.
    func upstreamHeaders() throws -> [(String, String)] {
        let json = try self.json()
        let pairs = json["headers"] as? [[String]] ?? []
        return pairs.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
    }

    /// Every value the upstream received for `name` (case-insensitive).
    func upstreamHeader(_ name: String) throws -> [String] {
        try upstreamHeaders().filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }

    /// The `error` field of a JSON error body.
    var errorCode: String? { (try? json())?["error"] as? String }
}
