import Foundation
import NIOCore
import NIOPosix
import SessionGateRedis
import Testing

@testable import SessionGate

extension NearCacheTests {
    /// The near-cache never serves a stale session when its invalidation connection drops, keeps the idle timeout
    /// honest to within `refresh_interval`, and costs almost no Redis commands in the steady state.
    @Suite("Near-cache resilience")
    struct NearCacheResilienceTests {
        @Test func afterTheInvalidationConnectionIsKilledNoStaleSessionIsAccepted() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let instance = try await NearCacheInstance.start(redis: redis)
            defer { Task { await instance.stop() } }
            let name = try #require(instance.redis?.invalidationListener?.clientName)

            for trial in 0..<10 {
                let userID = "killed-\(trial)"
                let created = try await instance.store.create(NewSession(userID: userID, userName: "u", roles: []))
                try await instance.prime(created.token)
                let ids = try redis.clientIDs(named: name)
                #expect(ids.count == 1)
                for id in ids {
                    try redis.command("CLIENT", "KILL", "ID", id)
                }
                // Revoked behind the instance's back, while no invalidation can reach it.
                #expect(try redis.command("DEL", instance.store.sessionKey(created.token)) == "1")
                // Polled every millisecond (not in a tight loop, which would starve other suites' timing on 2 cores).
                let until = ContinuousClock.now + .milliseconds(300)
                while ContinuousClock.now < until {
                    #expect(try await instance.validate(created.token) == nil)
                    try await Task.sleep(for: .milliseconds(1))
                }
                // The subscription comes back by itself, and caching with it.
                #expect(await NearCacheInstance.eventually { instance.store.isCaching })
                #expect(try await instance.validate(created.token) == nil)
            }
            let fresh = try await instance.store.create(NewSession(userID: "after", userName: "u", roles: []))
            try await instance.prime(fresh.token)
        }

        @Test func aSilentInvalidationConnectionIsNoticedByTheHeartbeat() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let instance = try await NearCacheInstance.start(redis: redis)
            defer { Task { await instance.stop() } }

            // Redis stops answering anyone (as a half-open connection would); the 1 s heartbeat notices within 2 s.
            let paused = ContinuousClock.now
            try redis.command("CLIENT", "PAUSE", "3000", "ALL")
            #expect(await NearCacheInstance.eventually { !instance.store.isCaching })
            #expect(ContinuousClock.now - paused < .milliseconds(2_900))
            #expect(await NearCacheInstance.eventually { instance.store.isCaching })
        }

        @Test func anUnusedSessionExpiresWithinTheRefreshIntervalOfTheIdleTimeout() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let a = try await NearCacheInstance.start(redis: redis, idleTimeout: .seconds(2), refreshInterval: .milliseconds(500))
            let b = try await NearCacheInstance.start(redis: redis, idleTimeout: .seconds(2), refreshInterval: .milliseconds(500))
            defer {
                Task {
                    await a.stop()
                    await b.stop()
                }
            }
            let created = try await a.store.create(NewSession(userID: "idle", userName: "u", roles: []))
            let key = a.store.sessionKey(created.token)

            // Used for longer than the idle timeout: the debounced refresh keeps it alive.
            let usedUntil = ContinuousClock.now + .seconds(3)
            while ContinuousClock.now < usedUntil {
                #expect(try await a.validate(created.token)?.userID == "idle")
                try await Task.sleep(for: .milliseconds(50))
            }
            let lastUse = ContinuousClock.now
            // Redis's expiry trails the last use by at most the refresh interval (plus scheduling slack).
            let remaining = try #require(Int(try redis.command("PTTL", key)))
            #expect(remaining > 2000 - 500 - 100)
            #expect(remaining <= 2000)

            try await Task.sleep(until: lastUse + .milliseconds(2100))
            #expect(try await a.validate(created.token) == nil)
            #expect(try await b.validate(created.token) == nil)
        }

        @Test func aThousandValidationsOfACachedSessionCostAtMostFiftyRedisCommands() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let instance = try await NearCacheInstance.start(redis: redis)
            defer { Task { await instance.stop() } }
            let created = try await instance.store.create(NewSession(userID: "steady", userName: "u", roles: []))
            try await instance.prime(created.token)

            let before = try redis.totalCommands()
            for _ in 0..<1000 {
                #expect(try await instance.validate(created.token)?.userID == "steady")
            }
            let commands = try redis.totalCommands() - before - 1
            #expect(commands <= 50, "\(commands) Redis commands for 1000 validations")
        }

        @Test func withoutTheCacheTheFactoryBuildsThePlainRedisStore() async throws {
            let redis = try await RedisServer.start()
            defer { redis.stop() }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let configuration = NearCacheInstance.configuration(redis: redis, localCache: false)
            let factory = SessionStoreFactory(configuration: configuration, group: group, logger: RedisIntegration.quietLogger)
            #expect(factory.store is RedisSessionStore)
            #expect(factory.redis?.invalidationListener == nil)
            try await group.shutdownGracefully()
        }
    }
}
