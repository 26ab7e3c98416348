import Foundation
import Testing
import NIOCore
import NIOPosix
import SessionGateRedis

@testable import SessionGate

/// The near-cache's integration tests, one at a time: several are timing-sensitive and CPU-heavy, and on a 2-core
/// machine two of them at once would disturb each other and other suites.
@Suite("Near-cache", .serialized)
enum NearCacheTests {}

/// One SessionGate instance's session store with the near-cache on, on an event loop of its own (so other tests'
/// load on shared loops cannot delay its invalidations), against a test `redis-server`.
final class NearCacheInstance: Sendable {
    let group: MultiThreadedEventLoopGroup
    let redis: (any RedisCommandRouting)?
    let store: CachingSessionStore

    /// Starts the store and waits until its invalidation subscription is active.
    static func start(
        redis: RedisServer, idleTimeout: TimeAmount = .minutes(30),
        refreshInterval: TimeAmount? = nil
    ) async throws -> NearCacheInstance {
        let instance = NearCacheInstance(
            configuration: configuration(redis: redis, idleTimeout: idleTimeout, refreshInterval: refreshInterval))
        instance.redis?.start()
        guard await instance.redis?.waitUntilConnected(timeout: .seconds(5)) == true,
            await eventually({ instance.store.isCaching })
        else {
            await instance.stop()
            throw NearCacheTestError.notReady
        }
        return instance
    }

    /// The configuration a user would write for this store.
    static func configuration(
        redis: RedisServer, localCache: Bool = true, idleTimeout: TimeAmount = .minutes(30),
        refreshInterval: TimeAmount? = nil
    ) -> ProxyConfiguration {
        var configuration = ProxyConfiguration(upstreams: [], routes: [])
        configuration.redis.address = HostPort(host: "127.0.0.1", port: redis.port)
        configuration.session.localCache = localCache
        configuration.session.idleTimeout = idleTimeout
        configuration.session.refreshInterval = refreshInterval
        return configuration
    }

    private init(configuration: ProxyConfiguration) {
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let factory = SessionStoreFactory(
            configuration: configuration, group: group, logger: RedisIntegration.quietLogger)
        self.redis = factory.redis
        guard let store = factory.store as? CachingSessionStore else {
            preconditionFailure("local_cache = true builds a CachingSessionStore")
        }
        self.store = store
    }

    /// Validates on the instance's own loop, as the proxy does.
    func validate(_ token: SessionToken) async throws -> SessionIdentity? {
        try await store.validate(token, on: group.next()).get()
    }

    /// Validates until the session is held in the cache (reads overlapping an invalidation are not cached, so the
    /// first read after a write may not be).
    func prime(_ token: SessionToken) async throws {
        for attempt in 0..<200 {
            _ = try await validate(token)
            if store.isCached(token) { return }
            if attempt > 20 { try await Task.sleep(for: .milliseconds(1)) }
        }
        throw NearCacheTestError.notCached
    }

    func stop() async {
        await redis?.shutdown()
        try? await group.shutdownGracefully()
    }

    /// Polls `condition` every 5 ms for up to 5 s.
    static func eventually(_ condition: () async throws -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }
}

enum NearCacheTestError: Error {
    case notReady
    case notCached
}

extension RedisServer {
    /// `total_commands_processed` from `INFO stats`, minus the `INFO` calls this helper itself made before.
    func totalCommands() throws -> Int {
        let prefix = "total_commands_processed:"
        for line in try command("INFO", "stats").split(whereSeparator: \.isNewline) where line.hasPrefix(prefix) {
            return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
        }
        return 0
    }

    /// The ids of the clients named `name` in `CLIENT LIST`.
    func clientIDs(named name: String) throws -> [String] {
        try command("CLIENT", "LIST").split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.contains(Substring("name=\(name)")),
                let id = fields.first(where: { $0.hasPrefix("id=") })
            else { return nil }
            return String(id.dropFirst(3))
        }
    }
}
